// A window's later parts (readings stored after the window's record, e.g. by the second closer of
// a split brain: docs/records.md, "A window's parts") are drawn as the one window they belong to:
// their readings join the window's, and the window keeps its own screen result, as the alerts
// and the AF burden judge it. A part whose window is not in the list stays as it is.
import type { Window } from './gateway';

export function mergeParts(windows: readonly Window[]): Window[] {
  const byId = new Map(windows.map((w) => [w.record_id, w]));
  const partsOf = new Map<string, Window[]>();
  for (const w of windows) {
    const parent = w.part_of ? byId.get(w.part_of) : undefined;
    if (parent?.payload && w.payload && !w.erased) partsOf.set(parent.record_id, [...(partsOf.get(parent.record_id) ?? []), w]);
  }
  const merged = new Set([...partsOf.values()].flat().map((w) => w.record_id));
  return windows.filter((w) => !merged.has(w.record_id)).map((w) => {
    const parts = partsOf.get(w.record_id);
    if (!parts || !w.payload) return w;
    const seen = new Set(w.payload.readings.map((r) => r.seq));
    const extra = parts.flatMap((p) => p.payload?.readings ?? []).filter((r) => !seen.has(r.seq) && (seen.add(r.seq), true));
    const readings = [...w.payload.readings, ...extra].sort((a, b) => a.ts_ms - b.ts_ms);
    return { ...w, payload: { ...w.payload, readings } };
  });
}
