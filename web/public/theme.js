// Paints the theme chosen in the settings before the first frame, so a dark theme does
// not flash light while the app loads (the app then keeps it: src/state/preferences.ts,
// which writes the same localStorage key). A file, not an inline script: the CSP allows
// only scripts of this origin.
/* global window, document */
(function () {
  var theme = 'system';
  try {
    theme = JSON.parse(localStorage.getItem('parley.settings') || '{}').theme || 'system';
  } catch {
    /* unreadable: the system's */
  }
  var dark = theme === 'dark' || (theme !== 'light' && window.matchMedia('(prefers-color-scheme: dark)').matches);
  document.documentElement.classList.toggle('dark', dark);
  document.documentElement.style.colorScheme = dark ? 'dark' : 'light';
})();
