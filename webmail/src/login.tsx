// biome-ignore-all lint/a11y/noAutofocus: the login screen has one task; the username field takes the focus
/** The login screen: username and password (an app password works the same), the language switch. */
import { useState } from "preact/hooks";
import { LANGS, type Lang, lang, setLang, t } from "./i18n/index.ts";
import { login } from "./session.ts";
import "./strings-core.ts";

export function LangSwitch() {
  return (
    <label class="lang">
      <span>{t("lang.label")}</span>
      <select
        value={lang.value}
        onChange={(e) => setLang((e.currentTarget as HTMLSelectElement).value as Lang)}
      >
        {LANGS.map((l) => (
          <option key={l} value={l}>
            {t(`lang.${l}`)}
          </option>
        ))}
      </select>
    </label>
  );
}

export function Login() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = e.currentTarget as HTMLFormElement;
    const username = (f.elements.namedItem("username") as HTMLInputElement).value.trim();
    const password = (f.elements.namedItem("password") as HTMLInputElement).value;
    if (!username || !password) {
      setError(t("login.missing"));
      return;
    }
    setBusy(true);
    setError(null);
    const err = await login(username, password);
    setBusy(false);
    if (err) setError(err);
  };
  return (
    <main class="login">
      <form
        class="login-box"
        onSubmit={submit}
        onInput={() => error && setError(null)}
        aria-labelledby="login-title"
      >
        <h1 id="login-title">{t("login.title")}</h1>
        <label>
          {t("login.username")}
          <input name="username" type="text" autoComplete="username" autoFocus required />
        </label>
        <label>
          {t("login.password")}
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        <p class="hint">{t("login.appPasswordHint")}</p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? t("login.busy") : t("login.submit")}
        </button>
        <LangSwitch />
      </form>
    </main>
  );
}
