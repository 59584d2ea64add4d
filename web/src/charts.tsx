/**
 * Charts with Observable Plot (SVG: readable by screen readers through its aria labels, crisp on
 * phones, inspectable in tests), each with its numbers one click away in a table. Loaded on demand by
 * the pages that draw charts, so the storefront never downloads it.
 */
import * as Plot from '@observablehq/plot';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ChartSpec, Datum } from './report-model.ts';
import { DataTable } from './ui.tsx';

// Colour-blind-safe categorical palette (Okabe–Ito), with enough contrast on white.
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];

function format(spec: Pick<ChartSpec, 'percent' | 'unit'>, value: number): string {
  if (spec.percent) return `${(value * 100).toFixed(1)}%`;
  const rounded =
    Math.abs(value) >= 100 || Number.isInteger(value) ? String(Math.round(value)) : value.toFixed(1);
  return spec.unit ? `${rounded} ${spec.unit}` : rounded;
}

function plot(spec: ChartSpec, width: number): SVGSVGElement | HTMLElement {
  const labels = [...new Set(spec.data.map((d) => d.label))];
  const series = [...new Set(spec.data.map((d) => d.series))];
  // All zeros (no anomalies, no errors) still gets an axis that reads as zero.
  const top = Math.max(0, ...spec.data.map((d) => d.value));
  const domain = top === 0 ? [0, 1] : undefined;
  const unit = spec.percent ? '%' : spec.unit;
  // 'Convergence (ms)' already names its unit.
  const xTitle = unit && !spec.title.endsWith(`(${unit})`) ? `${spec.title} (${unit})` : spec.title;
  const common = {
    width,
    style: { fontSize: '12px', background: 'transparent' },
    ariaLabel: spec.title,
    ariaDescription: `${spec.kind === 'line' ? 'Lines' : 'Bars'}: ${spec.data
      .slice(0, 40)
      .map(
        (d) =>
          `${spec.kind === 'line' ? `${spec.facet ? `${d.label} ` : ''}${d.series}` : d.label}${spec.kind === 'grouped' ? ` ${d.series}` : ''}${d.x !== undefined ? ` at ${d.x}` : ''} ${format(spec, d.value)}`,
      )
      .join(
        '; ',
      )}${spec.data.length > 40 ? `; and ${spec.data.length - 40} more (see the numbers table)` : ''}`,
  };
  if (spec.kind === 'line') {
    // Faceted: one panel per run (a failover each), with its own fault marked.
    const fy = spec.facet ? 'label' : undefined;
    const events = spec.events ?? [];
    return Plot.plot({
      ...common,
      height: spec.facet ? 70 + labels.length * 130 : 280,
      marginLeft: 50,
      // Room for the panels' names at the right.
      marginRight: spec.facet ? 16 + 6.5 * Math.max(...labels.map((l) => l.length)) : 20,
      x: { label: spec.xLabel ?? 'x', grid: true },
      y: { label: xTitle, grid: true, percent: spec.percent },
      fy: spec.facet ? { label: null, domain: labels } : undefined,
      color: { legend: true, range: PALETTE, domain: series },
      marks: [
        Plot.ruleY([0]),
        // When a fault started: a dashed rule, named at its top.
        Plot.ruleX(events, {
          x: 'x',
          fy: spec.facet ? 'facet' : undefined,
          stroke: '#555',
          strokeDasharray: '4 3',
        }),
        Plot.text(events, {
          x: 'x',
          fy: spec.facet ? 'facet' : undefined,
          frameAnchor: 'top',
          text: 'label',
          textAnchor: 'start',
          dx: 3,
          dy: 4,
          fill: 'currentColor',
        }),
        Plot.line(spec.data, {
          x: 'x',
          y: 'value',
          stroke: 'series',
          fy,
          z: (d: Datum) => `${d.label}|${d.series}`,
        }),
        // One dot per measured point (what the numbers table lists).
        Plot.dot(spec.data, { x: 'x', y: 'value', fill: 'series', fy, r: 2, tip: true }),
      ],
    });
  }
  const marginLeft = Math.min(260, 12 + 6.5 * Math.max(...labels.map((l) => l.length)));
  if (spec.kind === 'grouped') {
    return Plot.plot({
      ...common,
      marginLeft,
      height: Math.max(120, labels.length * series.length * 14 + 60),
      marginRight: 16,
      x: { label: xTitle, grid: true, percent: spec.percent, domain, nice: true },
      y: { axis: null, domain: series },
      fy: { label: null, domain: labels, padding: 0.15 },
      color: { legend: true, range: PALETTE, domain: series },
      marks: [
        Plot.barX(spec.data, { x: 'value', y: 'series', fy: 'label', fill: 'series', tip: true }),
        Plot.ruleX([0]),
      ],
    });
  }
  const stores = [...new Set(spec.data.map((d) => d.store))];
  return Plot.plot({
    ...common,
    marginLeft,
    height: Math.max(100, labels.length * 26 + 50),
    // Room for the value printed after each bar.
    marginRight: 56,
    x: { label: xTitle, grid: true, percent: spec.percent, domain, nice: true },
    y: { label: null, domain: labels },
    color: { legend: stores.length > 1, range: PALETTE, domain: stores },
    marks: [
      Plot.barX(spec.data, { x: 'value', y: 'label', fill: 'store', tip: true }),
      Plot.text(spec.data, {
        x: 'value',
        y: 'label',
        text: (d: Datum) => format(spec, d.value),
        dx: 4,
        textAnchor: 'start',
        fill: 'currentColor',
      }),
      Plot.ruleX([0]),
    ],
  });
}

/** One chart: the figure, and a button that shows its numbers as a table. */
export function Chart({ spec }: { spec: ChartSpec }) {
  const holder = useRef<HTMLDivElement>(null);
  const [table, setTable] = useState(false);
  const id = `chart-${spec.key}-${Math.random().toString(36).slice(2, 8)}`;
  useEffect(() => {
    const el = holder.current;
    if (!el) return;
    const draw = () => {
      const width = Math.max(280, Math.min(spec.kind === 'line' ? 1200 : 760, el.clientWidth || 600));
      el.replaceChildren(plot(spec, width));
    };
    draw();
    const observer = new ResizeObserver(() => draw());
    observer.observe(el.parentElement ?? el);
    return () => observer.disconnect();
  }, [spec]);
  const xs = spec.kind === 'line';
  return (
    <figure class="chart" data-chart={spec.key} data-kind={spec.kind} data-points={spec.data.length}>
      <figcaption>
        <span>{spec.title}</span>
        <button
          type="button"
          class="link"
          aria-expanded={table}
          aria-controls={id}
          onClick={() => setTable(!table)}
        >
          {table ? 'Hide numbers' : 'Numbers'}
        </button>
      </figcaption>
      <div ref={holder} class="plot" />
      {spec.events && spec.events.length > 0 && (
        <p class="muted">
          {spec.events.map((e) => `${e.label} at ${format({ unit: 'ms' }, e.x)}`).join(' · ')}
        </p>
      )}
      {table && (
        <DataTable
          id={id}
          label={`${spec.title} numbers`}
          rows={spec.data}
          rowKey={(_, i) => i}
          columns={[
            !!spec.facet && { title: 'Run', cell: (d) => d.label },
            { title: xs ? 'Series' : 'Store · strategy', cell: (d) => (xs ? d.series : d.label) },
            spec.kind === 'grouped' && { title: 'Measure', cell: (d) => d.series },
            xs && { title: spec.xLabel ?? 'x', cell: (d) => d.x },
            { title: 'Value', num: true, cell: (d) => format(spec, d.value) },
          ]}
        />
      )}
    </figure>
  );
}
