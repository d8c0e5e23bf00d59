// SVG primitives for report.html's charts: scales, ticks, axes, the chart frame. Pure string building; every
// caller-supplied text goes through esc(). Sizes are viewBox units (the SVG scales to the page width).
import { esc, fmtInt } from './html-format.js'

/** Chart size in viewBox units; the SVG is drawn at 100% of its container's width. */
export const CHART_WIDTH = 640
export const CHART_HEIGHT = 340
const MARGIN = { left: 56, right: 20, top: 24, bottom: 46 } as const

/** Okabe & Ito (2008) colour-blind safe palette, yellow last (weak on white); persons cycle through it. */
export const PERSON_COLOURS = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000'] as const
/** For a person the palette does not know (not among the household's found persons). */
export const UNKNOWN_COLOUR = '#999999'
/** The single-series accent (Okabe–Ito blue). */
export const ACCENT = PERSON_COLOURS[0]

/** The plot area inside the margins: x0 left, x1 right, y0 top, y1 bottom. */
export interface Frame { readonly x0: number, readonly x1: number, readonly y0: number, readonly y1: number }

/** Data value → viewBox coordinate. */
export type Scale = (v: number) => number

export interface Tick { readonly v: number, readonly label: string }

/** The plot area of a width × height chart; `left` leaves room for wide y tick labels. */
export function plotFrame(width = CHART_WIDTH, height = CHART_HEIGHT, left: number = MARGIN.left): Frame {
  return { x0: left, x1: width - MARGIN.right, y0: MARGIN.top, y1: height - MARGIN.bottom }
}

/** Linear map [d0, d1] → [r0, r1]; a degenerate domain maps to the middle of the range. */
export function linear(d0: number, d1: number, r0: number, r1: number): Scale {
  const span = d1 - d0
  if (!(span !== 0 && Number.isFinite(span))) return () => (r0 + r1) / 2
  return (v) => r0 + ((v - d0) / span) * (r1 - r0)
}

/** Logarithmic map [d0, d1] → [r0, r1] for 0 < d0 < d1. */
export function logarithmic(d0: number, d1: number, r0: number, r1: number): Scale {
  const l = linear(Math.log10(d0), Math.log10(d1), r0, r1)
  return (v) => l(Math.log10(v))
}

/** About `count` round ticks (steps of 1, 2 or 5 × 10^k) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo]
  const raw = (hi - lo) / Math.max(1, count)
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag
  const ticks: number[] = []
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)))
  return ticks
}

/** The smallest nice tick at or above v (for an axis maximum). */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1
  const ticks = niceTicks(0, v, 4)
  const last = ticks[ticks.length - 1]!
  return last >= v ? last : last + (ticks[1] ?? last) - (ticks[0] ?? 0)
}

/** Ticks at 1, 2, 5 × 10^k inside [lo, hi] (only decades when the range spans more than three). */
export function logTicks(lo: number, hi: number): number[] {
  const multiples = Math.log10(hi / lo) > 3 ? [1] : [1, 2, 5]
  const ticks: number[] = []
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of multiples) {
      const v = Number((m * 10 ** e).toPrecision(12))
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks.push(v)
    }
  }
  return ticks
}

/** Opens a chart's SVG; `label` is its accessible name. */
export function svgOpen(name: string, label: string, width = CHART_WIDTH, height = CHART_HEIGHT): string {
  return `<svg class="chart" data-chart="${esc(name)}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(label)}" preserveAspectRatio="xMidYMid meet">`
}

/** A round number for an SVG attribute (two decimals are plenty at viewBox scale). */
export function r2(v: number): string {
  return String(Math.round(v * 100) / 100)
}

/** Bottom axis: baseline, ticks with labels and light vertical grid lines, and the axis title. */
export function xAxis(f: Frame, x: Scale, ticks: readonly Tick[], title: string, grid = true): string {
  const parts = [`<g class="axis">`, `<line x1="${f.x0}" x2="${f.x1}" y1="${f.y1}" y2="${f.y1}"/>`]
  for (const t of ticks) {
    const px = r2(x(t.v))
    if (grid) parts.push(`<line class="grid" x1="${px}" x2="${px}" y1="${f.y0}" y2="${f.y1}"/>`)
    parts.push(`<line x1="${px}" x2="${px}" y1="${f.y1}" y2="${f.y1 + 4}"/>`)
    parts.push(`<text x="${px}" y="${f.y1 + 16}" text-anchor="middle">${esc(t.label)}</text>`)
  }
  parts.push(`<text class="axis-title" x="${r2((f.x0 + f.x1) / 2)}" y="${f.y1 + 36}" text-anchor="middle">${esc(title)}</text>`, `</g>`)
  return parts.join('')
}

/** Left axis: baseline, ticks with labels and light horizontal grid lines, and the rotated axis title. */
export function yAxis(f: Frame, y: Scale, ticks: readonly Tick[], title: string, grid = true): string {
  const parts = [`<g class="axis">`, `<line x1="${f.x0}" x2="${f.x0}" y1="${f.y0}" y2="${f.y1}"/>`]
  for (const t of ticks) {
    const py = r2(y(t.v))
    if (grid) parts.push(`<line class="grid" x1="${f.x0}" x2="${f.x1}" y1="${py}" y2="${py}"/>`)
    parts.push(`<line x1="${f.x0 - 4}" x2="${f.x0}" y1="${py}" y2="${py}"/>`)
    parts.push(`<text x="${f.x0 - 7}" y="${py}" dy="0.32em" text-anchor="end">${esc(t.label)}</text>`)
  }
  const cy = r2((f.y0 + f.y1) / 2)
  parts.push(`<text class="axis-title" x="14" y="${cy}" transform="rotate(-90 14 ${cy})" text-anchor="middle">${esc(title)}</text>`, `</g>`)
  return parts.join('')
}

/** Ticks labelled with at most 3 significant digits and no trailing zeros: 0.2, 1, 10, 1,000. */
export function sigTicks(values: readonly number[]): Tick[] {
  return values.map((v) => ({ v, label: Math.abs(v) >= 1000 ? fmtInt(v) : String(Number(v.toPrecision(3))) }))
}

/** A centred note inside an empty plot area. */
export function emptyNote(f: Frame, text: string): string {
  return `<text class="empty" x="${r2((f.x0 + f.x1) / 2)}" y="${r2((f.y0 + f.y1) / 2)}" text-anchor="middle">${esc(text)}</text>`
}

/** A chart in a figure with its one-line caption (caption is HTML, already escaped by the caller). */
export function figure(svg: string, captionHtml: string, extraHtml = ''): string {
  return `<figure>${svg}<figcaption>${captionHtml}</figcaption>${extraHtml}</figure>`
}
