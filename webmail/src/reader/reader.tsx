/**
 * The message reader: the toolbar, the open message (headers, body, attachments) and, when it is
 * part of a conversation, the thread's other messages collapsed (expand one to read it). Marks the
 * message read when opened; follows changes made elsewhere (the push channel's Email state):
 * keywords and folders refresh, and a message destroyed elsewhere closes with a notice.
 */
import { useEffect, useMemo, useState } from "preact/hooks";
import { setKeyword } from "../actions.ts";
import { formatDate, t } from "../i18n/index.ts";
import { notify, onServerChange, openEmailId } from "../state.ts";
import type { EmailAddress } from "../types.ts";
import { Attachments } from "./attachments.tsx";
import { MessageBody, prepareBody } from "./body.tsx";
import { type FullEmail, loadEmail, loadFlags, loadThread, type ThreadMember } from "./load.ts";
import { ReaderToolbar } from "./toolbar.tsx";
import "./strings-reader.ts";
import "./reader.css";

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function person(a: EmailAddress): string {
  return a.name ? `${a.name} <${a.email}>` : a.email;
}

function shortPerson(list: EmailAddress[] | null): string {
  const a = list?.[0];
  return a ? a.name || a.email : "";
}

function Addresses(props: { label: string; list: EmailAddress[] | null; testid: string }) {
  if (!props.list || props.list.length === 0) return null;
  return (
    <div class="reader-hdr">
      <dt>{props.label}</dt>
      <dd data-testid={props.testid}>
        {props.list.map((a, i) => (
          <span key={`${a.email}-${i}`} title={a.email} class="reader-addr">
            {i > 0 ? ", " : ""}
            {person(a)}
          </span>
        ))}
      </dd>
    </div>
  );
}

/** One message: headers, body (remote images per message, on request) and attachments. */
export function MessageView(props: { email: FullEmail }) {
  const { email } = props;
  const [allowRemote, setAllowRemote] = useState(false);
  useEffect(() => setAllowRemote(false), [email.id]);
  const body = useMemo(() => prepareBody(email, allowRemote), [email, allowRemote]);
  const shownInline = body.kind === "html" ? body.usedCids : new Set<string>();
  const attachments = email.attachments.filter(
    (p) => !(p.cid && shownInline.has(p.cid.replace(/^<|>$/g, ""))),
  );
  const date = new Date(email.sentAt ?? email.receivedAt);
  return (
    <article class="reader-message" aria-label={email.subject || t("reader.noSubject")}>
      <h2 class="reader-subject" data-testid="reader-subject">
        {email.subject || t("reader.noSubject")}
      </h2>
      <dl class="reader-headers">
        <Addresses label={t("reader.from")} list={email.from} testid="reader-from" />
        <Addresses label={t("reader.to")} list={email.to} testid="reader-to" />
        <Addresses label={t("reader.cc")} list={email.cc} testid="reader-cc" />
        <div class="reader-hdr">
          <dt>{t("reader.date")}</dt>
          <dd>
            <time
              dateTime={date.toISOString()}
              title={date.toLocaleString(undefined, { dateStyle: "full", timeStyle: "long" })}
            >
              {formatDate(date)}
            </time>
          </dd>
        </div>
      </dl>
      <MessageBody email={email} body={body} onShowRemote={() => setAllowRemote(true)} />
      <Attachments parts={attachments} />
    </article>
  );
}

/** A thread member other than the open message: a collapsed row that loads and expands on click. */
function ThreadItem(props: { member: ThreadMember }) {
  const { member } = props;
  const [open, setOpen] = useState(false);
  const [email, setEmail] = useState<FullEmail | null>(null);
  const from = shortPerson(member.from);
  const date = formatDate(new Date(member.receivedAt));
  const toggle = async () => {
    if (open) return setOpen(false);
    setOpen(true);
    if (!email) {
      try {
        setEmail(await loadEmail(member.id));
      } catch (e) {
        notify(t("reader.error", { error: errorText(e) }), "error");
        return;
      }
    }
    // reading it in the conversation reads it
    if (!member.keywords.$seen) void setKeyword([member.id], "$seen", true);
  };
  return (
    <li class={`reader-thread-item${member.keywords.$seen ? "" : " unread"}`}>
      <button
        type="button"
        class="reader-thread-row"
        aria-expanded={open}
        aria-label={open ? t("reader.collapse", { from }) : t("reader.expand", { from, date })}
        onClick={() => void toggle()}
      >
        <span class="reader-thread-from">{from}</span>
        <span class="reader-thread-preview">{member.preview}</span>
        <span class="reader-thread-date">{date}</span>
      </button>
      {open && email && <MessageView email={email} />}
    </li>
  );
}

export function Reader(props: { emailId: string }) {
  const { emailId } = props;
  const [email, setEmail] = useState<FullEmail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [thread, setThread] = useState<ThreadMember[]>([]);

  // load the message, mark it read (once per opening), then its thread
  useEffect(() => {
    let live = true;
    setEmail(null);
    setError(null);
    setThread([]);
    (async () => {
      const e = await loadEmail(emailId);
      if (!live) return;
      if (!e) {
        setError(t("reader.gone"));
        return;
      }
      setEmail(e);
      if (!e.keywords.$seen) {
        setEmail({ ...e, keywords: { ...e.keywords, $seen: true } });
        void setKeyword([emailId], "$seen", true).then((ok) => {
          if (!ok && live)
            setEmail((cur) => (cur ? { ...cur, keywords: withoutKey(cur.keywords, "$seen") } : cur));
        });
      }
      // without its thread the message still shows (alone)
      const members = await loadThread(e.threadId).catch(() => []);
      if (live) setThread(members);
    })().catch((err: unknown) => {
      if (live) setError(t("reader.error", { error: errorText(err) }));
    });
    return () => {
      live = false;
    };
  }, [emailId]);

  // changes made elsewhere: keywords and folders refresh; a destroyed message closes the reader
  // (once: several change events can be in flight when it goes)
  useEffect(() => {
    let gone = false;
    const off = onServerChange((changed) => {
      if (!changed.Email || gone) return;
      void (async () => {
        const f = await loadFlags(emailId);
        if (gone) return;
        if (!f) {
          gone = true;
          if (openEmailId.value === emailId) openEmailId.value = null;
          notify(t("reader.gone"));
          return;
        }
        setEmail((cur) =>
          cur && cur.id === emailId ? { ...cur, keywords: f.keywords, mailboxIds: f.mailboxIds } : cur,
        );
        const members = await loadThread(f.threadId);
        if (!gone) setThread(members);
      })().catch(() => {
        // the next change (or reopening) tries again; the connection banner tells about outages
      });
    });
    return () => {
      gone = true;
      off();
    };
  }, [emailId]);

  if (error) {
    return (
      <section class="reader-view" aria-label={t("reader.htmlTitle")}>
        <p role="alert" class="reader-error">
          {error}
        </p>
      </section>
    );
  }
  if (!email) {
    return (
      <section class="reader-view" aria-busy="true">
        <p class="reader-loading">{t("reader.loading")}</p>
      </section>
    );
  }
  const inThread = thread.length > 1 && thread.some((m) => m.id === emailId);
  return (
    <section class="reader-view" aria-label={email.subject || t("reader.noSubject")} data-testid="reader">
      <ReaderToolbar
        emailId={emailId}
        keywords={email.keywords}
        mailboxIds={email.mailboxIds}
        onKeyword={(k, on) =>
          setEmail((cur) =>
            cur
              ? { ...cur, keywords: on ? { ...cur.keywords, [k]: true } : withoutKey(cur.keywords, k) }
              : cur,
          )
        }
      />
      {inThread ? (
        <section class="reader-thread" aria-label={t("reader.thread", { count: thread.length })}>
          <p class="reader-thread-title">{t("reader.thread", { count: thread.length })}</p>
          <ul>
            {thread.map((m) =>
              m.id === emailId ? (
                <li key={m.id} class="reader-thread-item current">
                  <MessageView email={email} />
                </li>
              ) : (
                <ThreadItem key={m.id} member={m} />
              ),
            )}
          </ul>
        </section>
      ) : (
        <MessageView email={email} />
      )}
    </section>
  );
}

function withoutKey(k: Record<string, true>, key: string): Record<string, true> {
  const out = { ...k };
  delete out[key];
  return out;
}
