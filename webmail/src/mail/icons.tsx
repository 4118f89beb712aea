/** Small inline SVG icons (no icon font, no requests): folders by role, attachment, search. */

const PATHS: Record<string, string> = {
  inbox: "M2 9h3l1.5 2h3L11 9h3M2 9l2-6h8l2 6v4H2z",
  drafts: "M3 13l1-3 7-7 2 2-7 7zM10 4l2 2",
  sent: "M2 8l12-5-5 12-2-5z",
  archive: "M2 3h12v3H2zM3 6v7h10V6M6 9h4",
  junk: "M8 2l6 11H2zM8 6v3M8 11v1",
  trash: "M3 4h10M6 4V2h4v2M4 4l1 10h6l1-10",
  folder: "M2 4h4l1.5 1.5H14V13H2z",
  attachment: "M10 4v6a2 2 0 0 1-4 0V3.5a1.5 1.5 0 0 1 3 0V10",
  search: "M7 3a4 4 0 1 0 0 8a4 4 0 1 0 0-8zM10 10l4 4",
};

const SVG = {
  class: "ico",
  viewBox: "0 0 16 16",
  width: "16",
  height: "16",
  fill: "none",
  stroke: "currentColor",
  "stroke-width": "1.4",
  "stroke-linejoin": "round",
  "stroke-linecap": "round",
} as const;

export function Icon({ name, label }: { name: string; label?: string }) {
  const d = PATHS[name] ?? PATHS.folder!;
  if (label) {
    return (
      <svg {...SVG} role="img" aria-label={label}>
        <title>{label}</title>
        <path d={d} />
      </svg>
    );
  }
  return (
    <svg {...SVG} aria-hidden="true">
      <path d={d} />
    </svg>
  );
}
