/** A message's attachments: name, size and a type icon, each a download link (same origin). */
import { lang, t } from "../i18n/index.ts";
import type { BodyPart } from "../types.ts";
import { partUrl } from "./load.ts";

/** 1536 → "1.5 KB", in the interface language's number format. */
export function formatSize(bytes: number): string {
  const units = ["B", "KB", "MB", "GB"];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const n = new Intl.NumberFormat(lang.value, { maximumFractionDigits: u === 0 || v >= 10 ? 0 : 1 }).format(
    v,
  );
  return `${n} ${units[u]}`;
}

/** A short label for the kind of file (shown as its icon). */
export function kindOf(p: BodyPart): string {
  const type = p.type.toLowerCase();
  const name = (p.name ?? "").toLowerCase();
  if (type.startsWith("image/")) return "IMG";
  if (type === "application/pdf" || name.endsWith(".pdf")) return "PDF";
  if (type.startsWith("audio/")) return "AUD";
  if (type.startsWith("video/")) return "VID";
  if (type.includes("zip") || type.includes("compressed") || name.endsWith(".zip")) return "ZIP";
  if (type === "message/rfc822") return "EML";
  if (type.startsWith("text/") || type.includes("document") || type.includes("msword")) return "DOC";
  if (type.includes("sheet") || type.includes("excel") || name.endsWith(".csv")) return "XLS";
  return "FILE";
}

export function Attachments(props: { parts: BodyPart[] }) {
  const parts = props.parts.filter((p) => p.blobId);
  if (parts.length === 0) return null;
  return (
    <section class="reader-attachments" aria-label={t("reader.attachments")}>
      <ul>
        {parts.map((p) => {
          const name = p.name || t("reader.unnamed");
          const size = formatSize(p.size);
          return (
            <li key={p.partId ?? p.blobId}>
              <a
                href={partUrl(p, name)}
                download={name}
                aria-label={t("reader.download", { name, size })}
                data-testid="attachment"
              >
                <span class={`att-icon att-${kindOf(p).toLowerCase()}`} aria-hidden="true">
                  {kindOf(p)}
                </span>
                <span class="att-name">{name}</span>
                <span class="att-size">{size}</span>
              </a>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
