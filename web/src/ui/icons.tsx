import type { SVGProps } from 'react';

// A few inline icons (Lucide-style strokes), so no icon package is needed.
type IconProps = SVGProps<SVGSVGElement> & { size?: number };

function make(paths: string[], name: string) {
  const Icon = ({ size = 18, ...rest }: IconProps) => (
    <svg
      xmlns="http://www.w3.org/2000/svg"
      width={size}
      height={size}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      strokeWidth={2}
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
      focusable="false"
      {...rest}
    >
      {paths.map((d) => (
        <path key={d} d={d} />
      ))}
    </svg>
  );
  Icon.displayName = name;
  return Icon;
}

export const IconPlus = make(['M12 5v14', 'M5 12h14'], 'IconPlus');
export const IconPaperclip = make(
  ['m21.44 11.05-9.19 9.19a6 6 0 0 1-8.49-8.49l8.57-8.57A4 4 0 1 1 18 8.84l-8.59 8.57a2 2 0 0 1-2.83-2.83l8.49-8.48'],
  'IconPaperclip',
);
export const IconSend = make(['M22 2 11 13', 'M22 2 15 22l-4-9-9-4 20-7z'], 'IconSend');
export const IconSearch = make(['M21 21l-4.3-4.3', 'M11 19a8 8 0 1 0 0-16 8 8 0 0 0 0 16z'], 'IconSearch');
export const IconX = make(['M18 6 6 18', 'M6 6l12 12'], 'IconX');
export const IconBack = make(['M15 18l-6-6 6-6'], 'IconBack');
export const IconUsers = make(
  [
    'M16 21v-2a4 4 0 0 0-4-4H6a4 4 0 0 0-4 4v2',
    'M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8z',
    'M22 21v-2a4 4 0 0 0-3-3.87',
    'M16 3.13a4 4 0 0 1 0 7.75',
  ],
  'IconUsers',
);
export const IconUserPlus = make(
  [
    'M16 21v-2a4 4 0 0 0-4-4H6a4 4 0 0 0-4 4v2',
    'M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8z',
    'M19 8v6',
    'M22 11h-6',
  ],
  'IconUserPlus',
);
export const IconLogOut = make(
  ['M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4', 'M16 17l5-5-5-5', 'M21 12H9'],
  'IconLogOut',
);
export const IconBell = make(
  ['M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9', 'M10.3 21a1.94 1.94 0 0 0 3.4 0'],
  'IconBell',
);
export const IconArrowDown = make(['M12 5v14', 'M19 12l-7 7-7-7'], 'IconArrowDown');
export const IconRetry = make(
  ['M21 12a9 9 0 1 1-3-6.7L21 8', 'M21 3v5h-5'],
  'IconRetry',
);
export const IconAlert = make(
  ['M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20z', 'M12 8v4', 'M12 16h.01'],
  'IconAlert',
);
export const IconClock = make(['M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20z', 'M12 6v6l4 2'], 'IconClock');
export const IconWifiOff = make(
  [
    'M2 2l20 20',
    'M8.5 16.5a5 5 0 0 1 7 0',
    'M2 8.82a15 15 0 0 1 4.17-2.65',
    'M10.66 5c4.01-.36 8.14.9 11.34 3.76',
    'M16.85 11.25a10 10 0 0 1 2.22 1.68',
    'M5 13a10 10 0 0 1 5.24-2.76',
    'M12 20h.01',
  ],
  'IconWifiOff',
);
export const IconChat = make(
  ['M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z'],
  'IconChat',
);
export const IconHash = make(['M4 9h16', 'M4 15h16', 'M10 3 8 21', 'M16 3l-2 18'], 'IconHash');
export const IconCheck = make(['M20 6 9 17l-5-5'], 'IconCheck');
export const IconMore = make(
  ['M12 13a1 1 0 1 0 0-2 1 1 0 0 0 0 2z', 'M19 13a1 1 0 1 0 0-2 1 1 0 0 0 0 2z', 'M5 13a1 1 0 1 0 0-2 1 1 0 0 0 0 2z'],
  'IconMore',
);
export const IconSliders = make(
  ['M20 7h-9', 'M14 17H5', 'M17 20a3 3 0 1 0 0-6 3 3 0 0 0 0 6z', 'M7 10a3 3 0 1 0 0-6 3 3 0 0 0 0 6z'],
  'IconSliders',
);
export const IconCompass = make(
  ['M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20z', 'm16.24 7.76-2.12 6.36-6.36 2.12 2.12-6.36z'],
  'IconCompass',
);
