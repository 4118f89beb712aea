/**
 * The settings view (shown when `view.value === "settings"`): display name and signature
 * (Identity/set, RFC 8621 §6), vacation reply (VacationResponse, RFC 8621 §8), password change
 * and app passwords (the server's vendor capability, account.tsx) and the interface language.
 * Each section saves on its own and says so (or why not) next to its button.
 */
import { useEffect, useState } from "preact/hooks";
import { type Identity, loadIdentities } from "../compose/model.ts";
import { LANGS, type Lang, lang, setLang, t } from "../i18n/index.ts";
import { jmap } from "../state.ts";
import { AppPasswords, PasswordChange } from "./account.tsx";
import { Outcome, useSaver } from "./saver.tsx";
import "./strings-settings.ts";
import "./settings.css";

interface SetAnswer {
  notUpdated?: Record<string, { type: string; description?: string }> | null;
}

function check(r: SetAnswer): void {
  const e = Object.values(r.notUpdated ?? {})[0];
  if (e) throw new Error(e.description ?? e.type);
}

function IdentitySection() {
  const [list, setList] = useState<Identity[] | null>(null);
  const [id, setId] = useState("");
  const [name, setName] = useState("");
  const [sig, setSig] = useState("");
  const s = useSaver();
  const pick = (i: Identity | undefined) => {
    setId(i?.id ?? "");
    setName(i?.name ?? "");
    setSig(i?.textSignature ?? "");
  };
  useEffect(() => {
    loadIdentities(true)
      .then((l) => {
        setList(l);
        pick(l[0]);
      })
      .catch((e: Error) => s.fail(e.message));
  }, []);
  const save = (e: Event) => {
    e.preventDefault();
    void s.run(async () => {
      check(await jmap.call<SetAnswer>("Identity/set", { update: { [id]: { name, textSignature: sig } } }));
      setList(await loadIdentities(true));
      return undefined;
    });
  };
  return (
    <section aria-labelledby="pk-set-identity">
      <h2 id="pk-set-identity">{t("settings.identity")}</h2>
      {!list && !s.error && <p>{t("settings.loading")}</p>}
      {list && (
        <form onSubmit={save}>
          {list.length > 1 && (
            <div class="pk-row">
              <label for="pk-set-ident">{t("settings.identityChoice")}</label>
              <select
                id="pk-set-ident"
                value={id}
                onChange={(e) =>
                  pick(list.find((i) => i.id === (e.currentTarget as HTMLSelectElement).value))
                }
              >
                {list.map((i) => (
                  <option key={i.id} value={i.id}>
                    {i.email}
                  </option>
                ))}
              </select>
            </div>
          )}
          <div class="pk-row">
            <label for="pk-set-name">{t("settings.name")}</label>
            <input
              id="pk-set-name"
              type="text"
              autocomplete="name"
              value={name}
              onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
            />
          </div>
          <div class="pk-row">
            <label for="pk-set-sig">{t("settings.signature")}</label>
            <textarea
              id="pk-set-sig"
              rows={4}
              value={sig}
              onInput={(e) => setSig((e.currentTarget as HTMLTextAreaElement).value)}
            />
          </div>
          <div class="pk-actions">
            <button type="submit" class="pk-primary" disabled={s.busy}>
              {t("settings.save")}
            </button>
            <Outcome ok={s.ok} error={s.error} />
          </div>
        </form>
      )}
      {!list && s.error && <Outcome ok={null} error={s.error} />}
    </section>
  );
}

interface Vacation {
  isEnabled: boolean;
  fromDate: string | null;
  toDate: string | null;
  subject: string | null;
  textBody: string | null;
}

/** UTCDate → the local day ("2026-12-24") for a date input */
function dayOf(iso: string | null): string {
  if (!iso) return "";
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** a local day → UTCDate (RFC 8620 §1.4, no fractions) at its start or its end */
function utcOf(day: string, end: boolean): string | null {
  if (!day) return null;
  const d = new Date(`${day}T${end ? "23:59:59" : "00:00:00"}`);
  return Number.isNaN(d.getTime()) ? null : d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function VacationSection() {
  const [v, setV] = useState<Vacation | null>(null);
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const s = useSaver();
  useEffect(() => {
    jmap
      .call<{ list: Vacation[] }>("VacationResponse/get", { ids: ["singleton"] })
      .then((r) => {
        const x = r.list[0] ?? { isEnabled: false, fromDate: null, toDate: null, subject: "", textBody: "" };
        setV(x);
        setFrom(dayOf(x.fromDate));
        setTo(dayOf(x.toDate));
      })
      .catch((e: Error) => s.fail(e.message));
  }, []);
  if (!v)
    return (
      <section aria-labelledby="pk-set-vacation">
        <h2 id="pk-set-vacation">{t("settings.vacation")}</h2>
        {s.error ? <Outcome ok={null} error={s.error} /> : <p>{t("settings.loading")}</p>}
      </section>
    );
  const save = (e: Event) => {
    e.preventDefault();
    const fromDate = utcOf(from, false);
    const toDate = utcOf(to, true);
    if (fromDate && toDate && toDate < fromDate) return s.fail(t("settings.vacationDates"));
    void s.run(async () => {
      check(
        await jmap.call<SetAnswer>("VacationResponse/set", {
          update: {
            singleton: {
              isEnabled: v.isEnabled,
              fromDate,
              toDate,
              subject: v.subject || null,
              textBody: v.textBody ?? "",
            },
          },
        }),
      );
      return undefined;
    });
  };
  return (
    <section aria-labelledby="pk-set-vacation">
      <h2 id="pk-set-vacation">{t("settings.vacation")}</h2>
      <form onSubmit={save}>
        <div class="pk-check">
          <input
            id="pk-set-vac-on"
            type="checkbox"
            checked={v.isEnabled}
            onChange={(e) => setV({ ...v, isEnabled: (e.currentTarget as HTMLInputElement).checked })}
          />
          <label for="pk-set-vac-on">{t("settings.vacationOn")}</label>
        </div>
        <div class="pk-row pk-dates">
          <label for="pk-set-vac-from">{t("settings.vacationFrom")}</label>
          <input
            id="pk-set-vac-from"
            type="date"
            value={from}
            onInput={(e) => setFrom((e.currentTarget as HTMLInputElement).value)}
          />
          <label for="pk-set-vac-to">{t("settings.vacationTo")}</label>
          <input
            id="pk-set-vac-to"
            type="date"
            value={to}
            onInput={(e) => setTo((e.currentTarget as HTMLInputElement).value)}
          />
        </div>
        <div class="pk-row">
          <label for="pk-set-vac-subject">{t("settings.vacationSubject")}</label>
          <input
            id="pk-set-vac-subject"
            type="text"
            value={v.subject ?? ""}
            onInput={(e) => setV({ ...v, subject: (e.currentTarget as HTMLInputElement).value })}
          />
        </div>
        <div class="pk-row">
          <label for="pk-set-vac-text">{t("settings.vacationText")}</label>
          <textarea
            id="pk-set-vac-text"
            rows={5}
            value={v.textBody ?? ""}
            onInput={(e) => setV({ ...v, textBody: (e.currentTarget as HTMLTextAreaElement).value })}
          />
        </div>
        <div class="pk-actions">
          <button type="submit" class="pk-primary" disabled={s.busy}>
            {t("settings.save")}
          </button>
          <Outcome ok={s.ok} error={s.error} />
        </div>
      </form>
    </section>
  );
}

const LANG_NAMES: Record<Lang, string> = { en: "English", sv: "Svenska" };

function LanguageSection() {
  return (
    <section aria-labelledby="pk-set-lang">
      <h2 id="pk-set-lang">{t("settings.language")}</h2>
      <div class="pk-row">
        <label for="pk-set-lang-choice">{t("settings.language")}</label>
        <select
          id="pk-set-lang-choice"
          value={lang.value}
          onChange={(e) => setLang((e.currentTarget as HTMLSelectElement).value as Lang)}
        >
          {LANGS.map((l) => (
            <option key={l} value={l} lang={l}>
              {LANG_NAMES[l]}
            </option>
          ))}
        </select>
      </div>
    </section>
  );
}

export function Settings() {
  return (
    <div class="pk-settings">
      <h1>{t("settings.title")}</h1>
      <IdentitySection />
      <VacationSection />
      <PasswordChange />
      <AppPasswords />
      <LanguageSection />
    </div>
  );
}
