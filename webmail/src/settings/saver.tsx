/** A settings section's save: busy while it runs, then "Saved" (or what the section says) or the error. */
import { useState } from "preact/hooks";
import { t } from "../i18n/index.ts";

/** The result line of a section: a status after saving, or the error. */
export function Outcome(props: { ok: string | null; error: string | null }) {
  return (
    <>
      <span role="status" class="pk-ok">
        {props.ok ?? ""}
      </span>
      {props.error && (
        <p role="alert" class="pk-error">
          {props.error}
        </p>
      )}
    </>
  );
}

/** Runs a save, showing "Saved" or the error. */
export function useSaver(): {
  ok: string | null;
  error: string | null;
  busy: boolean;
  run: (fn: () => Promise<string | undefined>) => Promise<void>;
  fail: (msg: string) => void;
} {
  const [ok, setOk] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return {
    ok,
    error,
    busy,
    fail: (msg) => {
      setOk(null);
      setError(msg);
    },
    run: async (fn) => {
      setBusy(true);
      setOk(null);
      setError(null);
      try {
        setOk((await fn()) ?? t("settings.saved"));
      } catch (e) {
        setError(t("settings.failed", { error: (e as Error).message }));
      } finally {
        setBusy(false);
      }
    },
  };
}
