/**
 * The account's credentials through the server's vendor capability
 * "urn:postkontor:params:jmap:account" (docs/architecture.md "Webmail"): changing the password
 * (Credentials/changePassword) and app passwords (AppPassword/get, AppPassword/set: create shows
 * the secret once, revoke asks first).
 */
import { useEffect, useState } from "preact/hooks";
import { askConfirm } from "../confirm.tsx";
import { formatDate, t } from "../i18n/index.ts";
import { JmapError, USING } from "../jmap/client.ts";
import { jmap } from "../state.ts";
import { Outcome, useSaver } from "./saver.tsx";

export const ACCOUNT_CAPABILITY = "urn:postkontor:params:jmap:account";
const using = [...USING, ACCOUNT_CAPABILITY];

/** the server offers the vendor capability (older servers do not: the sections say so) */
function supported(): boolean {
  return Boolean(jmap.session?.capabilities[ACCOUNT_CAPABILITY]);
}

function Unsupported(props: { id: string; title: string }) {
  return (
    <section aria-labelledby={props.id}>
      <h2 id={props.id}>{props.title}</h2>
      <p>{t("settings.unsupported")}</p>
    </section>
  );
}

export function PasswordChange() {
  if (!supported()) return <Unsupported id="pk-set-password" title={t("settings.password")} />;
  return <PasswordForm />;
}

function PasswordForm() {
  const [oldPw, setOld] = useState("");
  const [newPw, setNew] = useState("");
  const [repeat, setRepeat] = useState("");
  const s = useSaver();
  const save = (e: Event) => {
    e.preventDefault();
    if (newPw !== repeat) return s.fail(t("settings.passwordMismatch"));
    void s.run(async () => {
      try {
        await jmap.call("Credentials/changePassword", { oldPassword: oldPw, newPassword: newPw }, using);
      } catch (err) {
        if (err instanceof JmapError && err.type === "forbidden")
          throw new Error(t("settings.passwordWrong"));
        throw err;
      }
      setOld("");
      setNew("");
      setRepeat("");
      return t("settings.passwordChanged");
    });
  };
  const field = (id: string, label: string, value: string, set: (v: string) => void, ac: string) => (
    <div class="pk-row">
      <label for={id}>{label}</label>
      <input
        id={id}
        type="password"
        required
        autocomplete={ac}
        value={value}
        onInput={(e) => set((e.currentTarget as HTMLInputElement).value)}
      />
    </div>
  );
  return (
    <section aria-labelledby="pk-set-password">
      <h2 id="pk-set-password">{t("settings.password")}</h2>
      <form onSubmit={save}>
        {field("pk-set-pw-old", t("settings.oldPassword"), oldPw, setOld, "current-password")}
        {field("pk-set-pw-new", t("settings.newPassword"), newPw, setNew, "new-password")}
        {field("pk-set-pw-repeat", t("settings.repeatPassword"), repeat, setRepeat, "new-password")}
        <div class="pk-actions">
          <button type="submit" class="pk-primary" disabled={s.busy}>
            {t("settings.passwordChange")}
          </button>
          <Outcome ok={s.ok} error={s.error} />
        </div>
      </form>
    </section>
  );
}

interface AppPassword {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  lastUsedBy: string | null;
}

interface SetAnswer {
  created?: Record<string, { id: string; name: string; secret: string }> | null;
  notCreated?: Record<string, { type: string; description?: string }> | null;
  notDestroyed?: Record<string, { type: string; description?: string }> | null;
}

function firstError(m: SetAnswer["notCreated"]): string | null {
  const e = Object.values(m ?? {})[0];
  return e ? (e.description ?? e.type) : null;
}

export function AppPasswords() {
  if (!supported()) return <Unsupported id="pk-set-apps" title={t("settings.appPasswords")} />;
  return <AppPasswordList />;
}

function AppPasswordList() {
  const [list, setList] = useState<AppPassword[] | null>(null);
  const [name, setName] = useState("");
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const [copied, setCopied] = useState(false);
  const s = useSaver();
  const load = async () => {
    const r = await jmap.call<{ list: AppPassword[] }>("AppPassword/get", { ids: null }, using);
    setList(r.list);
  };
  useEffect(() => {
    load().catch((e: Error) => s.fail(e.message));
  }, []);

  const create = (e: Event) => {
    e.preventDefault();
    const n = name.trim();
    if (!n) return;
    void s.run(async () => {
      const r = await jmap.call<SetAnswer>("AppPassword/set", { create: { k: { name: n } } }, using);
      const err = firstError(r.notCreated);
      if (err) throw new Error(err);
      const c = r.created?.k;
      if (c) setSecret({ name: c.name, secret: c.secret });
      setCopied(false);
      setName("");
      await load();
      return "";
    });
  };
  const revoke = (id: string) => {
    void s.run(async () => {
      const r = await jmap.call<SetAnswer>("AppPassword/set", { destroy: [id] }, using);
      const err = firstError(r.notDestroyed);
      if (err) throw new Error(err);
      await load();
      return "";
    });
  };
  const when = (iso: string) => formatDate(new Date(iso));

  return (
    <section aria-labelledby="pk-set-apps">
      <h2 id="pk-set-apps">{t("settings.appPasswords")}</h2>
      <p class="pk-help">{t("settings.appPasswordsHelp")}</p>
      {secret && (
        <section class="pk-secret" aria-label={t("settings.appPasswords")}>
          <p>{t("settings.appSecret", { name: secret.name })}</p>
          <code data-testid="app-secret">{secret.secret}</code>{" "}
          <button
            type="button"
            onClick={() => {
              navigator.clipboard
                ?.writeText(secret.secret)
                .then(() => setCopied(true))
                .catch(() => setCopied(false));
            }}
          >
            {copied ? t("settings.appCopied") : t("settings.appCopy")}
          </button>{" "}
          <button type="button" onClick={() => setSecret(null)}>
            {t("settings.appDone")}
          </button>
        </section>
      )}
      {list && list.length === 0 && <p>{t("settings.appNone")}</p>}
      {list && list.length > 0 && (
        <ul class="pk-apps">
          {list.map((a) => (
            <li key={a.id} data-testid="app-password">
              <strong>{a.name}</strong>
              <span class="pk-muted">
                {t("settings.appCreated", { date: when(a.createdAt) })} ·{" "}
                {a.lastUsedAt
                  ? a.lastUsedBy
                    ? t("settings.appLastUsedBy", { date: when(a.lastUsedAt), by: a.lastUsedBy })
                    : t("settings.appLastUsed", { date: when(a.lastUsedAt) })
                  : t("settings.appNeverUsed")}
              </span>
              <button
                type="button"
                class="pk-danger"
                aria-label={`${t("settings.appRevoke")}: ${a.name}`}
                onClick={async () => {
                  const ok = await askConfirm({
                    title: t("settings.appRevokeTitle"),
                    message: t("settings.appRevokeConfirm", { name: a.name }),
                    confirm: t("settings.appRevokeYes"),
                  });
                  if (ok) revoke(a.id);
                }}
              >
                {t("settings.appRevoke")}
              </button>
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={create} class="pk-row">
        <label for="pk-set-app-name">{t("settings.appName")}</label>
        <input
          id="pk-set-app-name"
          type="text"
          maxLength={100}
          value={name}
          onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
        />
        <button type="submit" class="pk-primary" disabled={s.busy || !name.trim()}>
          {t("settings.appCreate")}
        </button>
      </form>
      <Outcome ok={s.ok || null} error={s.error} />
    </section>
  );
}
