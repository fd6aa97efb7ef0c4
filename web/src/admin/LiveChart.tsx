import { useEffect, useRef } from 'react';
import {
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';

// Chart.js draws on a canvas and sets its size through the CSSOM, which the strict
// CSP allows (it blocks style attributes in markup and <style> elements, not this).
Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Legend, Tooltip);

export interface Series {
  label: string;
  values: (number | null)[];
  color: string;
}

/** A line chart redrawn in place as points arrive; the numbers are also in a table beside it. */
export function LiveChart({ title, labels, series }: { title: string; labels: string[]; series: Series[] }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<'line', (number | null)[], string> | null>(null);

  useEffect(() => {
    if (!canvas.current) return;
    // A canvas has no CSS colours to inherit: axis text follows the colour scheme by hand.
    const dark = window.matchMedia('(prefers-color-scheme: dark)').matches;
    const text = dark ? '#d4d4d8' : '#3f3f46';
    const grid = dark ? '#3f3f46' : '#e4e4e7';
    chart.current = new Chart(canvas.current, {
      type: 'line',
      data: { labels: [], datasets: [] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        color: text,
        scales: {
          x: { ticks: { color: text }, grid: { color: grid } },
          y: { beginAtZero: true, ticks: { color: text }, grid: { color: grid } },
        },
      },
    });
    return () => {
      chart.current?.destroy();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    c.data.labels = labels;
    c.data.datasets = series.map((s) => ({
      label: s.label,
      data: s.values,
      borderColor: s.color,
      backgroundColor: s.color,
      pointRadius: 0,
    }));
    c.update();
  }, [labels, series]);

  return (
    <figure className="rounded-xl border border-zinc-200 p-3 dark:border-zinc-800">
      <figcaption className="mb-2 text-sm font-semibold">{title}</figcaption>
      <div className="relative h-48">
        <canvas ref={canvas} role="img" aria-label={`${title}, live chart`} />
      </div>
    </figure>
  );
}
