/**
 * The reader's sanitiser and message frame against hostile HTML, in real Chromium: the real
 * reader code (webmail/src/reader) bundled into a test page that has NO CSP of its own, so only
 * the reader's layers (DOMPurify with our hooks, the sandboxed srcdoc frame, the frame's CSP)
 * stand between the message and the network. A recorder on another origin logs every request:
 * nothing may reach it and no script may run until the user clicks "Show remote images", and
 * then only images.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Browser, Frame, Page } from "playwright-core";
import { launchBrowser, openPage } from "../kit/browser.ts";
import { waitUntil } from "../kit/temp.ts";
import { bundle, PNG, type Served, startPage, startRecorder } from "./reader-harness.ts";

const ENTRY = `
import { render } from "preact";
import "./styles.css";
import { jmap } from "./state.ts";
import { setLang } from "./i18n/index.ts";
import { MessageView } from "./reader/reader.tsx";
import { IFRAME_SANDBOX, frameCsp, frameDocument, sanitizeHtml } from "./reader/sanitize.ts";

jmap.session = { downloadUrl: location.origin + "/jmap/download/{accountId}/{blobId}/{name}?accept={type}" };
jmap.accountId = "A";

function part(partId, type, extra) {
  return { partId, blobId: "blob-" + partId, size: 100, name: null, type, charset: null, disposition: null, cid: null, ...extra };
}
function email(kind, value) {
  const body = part("1", kind === "html" ? "text/html" : "text/plain");
  return {
    id: "M1", blobId: "raw", threadId: "T1", mailboxIds: { I: true }, keywords: {},
    from: [{ name: "Mallory", email: "mallory@evil.test" }], to: [{ name: null, email: "a@example.test" }], cc: null,
    subject: "hostile", sentAt: "2025-06-02T10:00:00Z", receivedAt: "2025-06-02T10:00:00Z",
    textBody: [body], htmlBody: [body],
    attachments: [
      part("2", "image/png", { name: "logo.png", cid: "logo@x", disposition: "inline" }),
      part("3", "application/pdf", { name: "doc.pdf", disposition: "attachment", size: 1234 }),
    ],
    bodyValues: { "1": { value, isEncodingProblem: false, isTruncated: false } },
  };
}
function frameLoaded() {
  const f = document.querySelector("iframe");
  return new Promise((resolve) => f.addEventListener("load", resolve, { once: true }));
}
const app = document.getElementById("app");
window.pk = {
  setLang,
  sanitize: (html, allowRemote) => sanitizeHtml(html, { allowRemote, cids: new Map([["logo@x", "/dl/logo"]]) }),
  mount(kind, value) {
    render(null, app);
    render(<MessageView email={email(kind, value)} />, app);
    return kind === "html" ? frameLoaded() : Promise.resolve();
  },
  nextLoad: frameLoaded,
  raw(html) {
    render(null, app);
    const f = document.createElement("iframe");
    f.setAttribute("sandbox", IFRAME_SANDBOX);
    f.srcdoc = frameDocument(html, frameCsp("", false));
    const done = new Promise((resolve) => f.addEventListener("load", resolve, { once: true }));
    app.append(f);
    return done;
  },
  settle: () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r, 300)))),
};
`;

let browser: Browser;
let page: Served;
let leak: Served;

before(async () => {
  leak = await startRecorder();
  page = await startPage({
    bundle: await bundle(ENTRY),
    other: (p) => (p.startsWith("/jmap/download/A/blob-2/") ? { type: "image/png", body: PNG } : null),
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await page?.close();
  await leak?.close();
});

/** Every way we know of to run script or fetch something from a message. L is the recorder. */
function hostile(L: string): string {
  return `
<script>parent.pwned = "script"; fetch("${L}/script")</script>
<img src="x" onerror="parent.pwned='onerror'; fetch('${L}/onerror')">
<img src="${L}/remote-img.png" alt="remote">
<img src="//${L.slice(7)}/protocol-relative.png" alt="protocol-relative">
<img src="cid:logo@x" alt="logo">
<svg onload="parent.pwned='svg'"><script>parent.pwned='svgscript'</script><image href="${L}/svg-image"/></svg>
<body onload="parent.pwned='bodyonload'">
<a id="js" href="javascript:parent.pwned='jslink'">js link</a>
<a id="jsent" href="jav&#x09;ascript:parent.pwned='jslink2'">js link 2</a>
<a id="data" href="data:text/html,<script>parent.pwned='data'</script>">data link</a>
<a id="ok" href="https://example.com/page">ok link</a>
<iframe src="${L}/iframe"></iframe>
<iframe srcdoc="<script>parent.parent.pwned='iframe'</script>"></iframe>
<object data="${L}/object"></object>
<embed src="${L}/embed">
<form action="${L}/form" method="post"><input name="q" value="x"><button>go</button></form>
<meta http-equiv="refresh" content="0;url=${L}/refresh">
<base href="${L}/base/">
<link rel="stylesheet" href="${L}/link.css">
<div style="background:url(${L}/style-attr)">bg</div>
<div style="background-image: u\\72l(${L}/escaped)">escaped</div>
<div style="background: image-set('${L}/imageset' 1x)">imageset</div>
<style>
@import url(${L}/import.css);
@import "${L}/import2.css";
.a { background: url('${L}/style-el') }
@font-face { font-family: x; src: url(${L}/font) }
:root { --u: \\75rl(${L}/customprop) }
.b { background: var(--u) }
@media screen { .c { background: url(${L}/media) } }
</style>
<div class="a">a</div><div class="b" style="font-family:x">b</div><div class="c">c</div>
<table background="${L}/table-bg"><tr><td>t</td></tr></table>
<img srcset="${L}/srcset 2x" alt="srcset">
<video poster="${L}/poster" src="${L}/video"></video>
<audio src="${L}/audio" autoplay></audio>
<a href="https://example.com/" ping="${L}/ping">ping</a>
<math><mi xlink:href="javascript:parent.pwned='math'">m</mi></math>
<details open ontoggle="parent.pwned='toggle'">d</details>
<input autofocus onfocus="parent.pwned='focus'">
<p>The end.</p>
<noscript><p title="</noscript><img src=x onerror=parent.pwned='noscript'>"></noscript>
<p>After noscript.</p>`;
}

/** paths that only script, frames, forms, navigation, stylesheets, CSS, fonts or media would request */
const NEVER = [
  "/script",
  "/onerror",
  "/iframe",
  "/object",
  "/embed",
  "/form",
  "/refresh",
  "/base/",
  "/link.css",
  "/import.css",
  "/import2.css",
  "/imageset",
  "/customprop",
  "/font",
  "/srcset",
  "/poster",
  "/video",
  "/audio",
  "/ping",
  "/svg-image",
  // remote URLs in CSS stay out even when remote images are allowed (css-scrub.ts)
  "/style-attr",
  "/escaped",
  "/style-el",
  "/media",
];

/** What the test page offers (ENTRY) and what the callbacks below read there (they run in the page). */
interface Pk {
  sanitize(html: string, allowRemote: boolean): { html: string; remoteBlocked: boolean };
  mount(kind: "html" | "text", value: string): Promise<void>;
  nextLoad(): Promise<void>;
  raw(html: string): Promise<void>;
  settle(): Promise<void>;
  setLang(l: "en" | "sv"): void;
}
declare const window: { pk: Pk; pwned?: string; opener: unknown };
declare const document: {
  body: { textContent: string | null };
  querySelector(s: string): { naturalWidth: number } | null;
};

function frameOf(p: Page): Frame {
  const f = p.frames().find((x) => x !== p.mainFrame());
  assert.ok(f, "the message frame exists");
  return f;
}

test("the sanitiser's output has no script, handler, frame, form, remote URL or @import", async () => {
  const { page: p, context } = await openPage(browser, page.origin);
  try {
    await p.goto("/");
    await p.waitForFunction(() => "pk" in window);
    const out = (await p.evaluate((h) => window.pk.sanitize(h, false), hostile(leak.origin))) as {
      html: string;
      remoteBlocked: boolean;
      usedCids: unknown;
    };
    const html = out.html.toLowerCase();
    for (const bad of [
      "<script",
      "onerror",
      "onload",
      "ontoggle",
      "onfocus",
      "javascript:",
      "<iframe",
      "<object",
    ]) {
      assert.ok(!html.includes(bad), `no ${bad} in ${out.html}`);
    }
    for (const bad of [
      "<embed",
      "<form",
      "<input",
      "<meta",
      "<base",
      "<link",
      "@import",
      "<svg",
      "<video",
      "srcset=",
    ]) {
      assert.ok(!html.includes(bad), `no ${bad} in ${out.html}`);
    }
    assert.ok(!html.includes("data:text/html"), "no data: link");
    assert.ok(!out.html.includes(`127.0.0.1:${leak.port}`), `no remote URL left in ${out.html}`);
    assert.equal(out.remoteBlocked, true);
    assert.match(
      out.html,
      /<a id="ok" href="https:\/\/example.com\/page" target="_blank" rel="noopener noreferrer">/,
    );
    assert.match(out.html, /<img src="\/dl\/logo" alt="logo">/, "cid: resolved to the download URL");
  } finally {
    await context.close();
  }
});

test("in the reader nothing runs and nothing loads until remote images are allowed, then only images", async () => {
  const { page: p, context } = await openPage(browser, page.origin);
  try {
    await p.goto("/");
    await p.waitForFunction(() => "pk" in window);
    await p.evaluate(async (h) => {
      const pk = window.pk;
      await pk.mount("html", h);
      await pk.settle();
    }, hostile(leak.origin));
    const f = frameOf(p);
    assert.equal(
      await f.evaluate(() => document.body.textContent?.includes("The end.")),
      true,
      "the body is shown",
    );
    assert.equal(
      leak.requests.length,
      0,
      `nothing reached the recorder before the click: ${JSON.stringify(leak.requests)}`,
    );
    assert.equal(await p.evaluate(() => window.pwned), undefined);
    // clicking the neutralised links does not run them either
    await f.click("#js");
    await f.click("#jsent");
    await f.click("#data");
    assert.equal(await p.evaluate(() => window.pwned), undefined);
    // the cid: image came from our download URL (same origin, allowed by the frame's CSP)
    assert.equal(await f.evaluate(() => document.querySelector('img[alt="logo"]')?.naturalWidth), 1);
    assert.ok(page.requests.some((r) => r.path.startsWith("/jmap/download/A/blob-2/logo.png")));
    // the inline image is not listed again as an attachment; the PDF is
    const names = await p.getByTestId("attachment").allTextContents();
    assert.equal(names.length, 1);
    assert.match(names[0]!, /doc\.pdf/);

    await p.getByText("Remote images blocked.").waitFor();
    const reloaded = p.evaluate(() => window.pk.nextLoad());
    await p.getByRole("button", { name: "Show remote images" }).click();
    await reloaded;
    await waitUntil(
      () =>
        ["/remote-img.png", "/protocol-relative.png"].every((p) => leak.requests.some((r) => r.path === p)),
      10_000,
      "remote image loaded",
    );
    await p.evaluate(() => window.pk.settle());
    const seen = leak.requests.map((r) => r.path);
    for (const path of NEVER) assert.ok(!seen.includes(path), `${path} was requested: ${seen.join(" ")}`);
    assert.ok(seen.includes("/table-bg"), `background attribute shown: ${seen.join(" ")}`);
    assert.ok(
      leak.requests.every((r) => r.referer === undefined),
      `no Referer leaves with remote images: ${JSON.stringify(leak.requests)}`,
    );
    assert.equal(await p.evaluate(() => window.pwned), undefined);
  } finally {
    await context.close();
  }
});

test("the frame alone (no sanitiser) runs no script and loads nothing: sandbox and CSP", async () => {
  const { page: p, context } = await openPage(browser, page.origin);
  const before = leak.requests.length;
  try {
    await p.goto("/");
    await p.waitForFunction(() => "pk" in window);
    const L = leak.origin;
    const raw = `
<script>parent.pwned = "raw-script"; fetch("${L}/raw-script")</script>
<img src="x" onerror="parent.pwned='raw-onerror'">
<img src="${L}/raw-img">
<div style="background:url(${L}/raw-style-attr)">x</div>
<style>@import url(${L}/raw-import.css); body { background: url(${L}/raw-style-el) }</style>
<link rel="stylesheet" href="${L}/raw-link.css">
<iframe src="${L}/raw-iframe"></iframe><object data="${L}/raw-object"></object><embed src="${L}/raw-embed">
<video src="${L}/raw-video" autoplay></video>
<svg><image href="${L}/raw-svg-image"/></svg>`;
    await p.evaluate(async (h) => {
      const pk = window.pk;
      await pk.raw(h);
      await pk.settle();
    }, raw);
    assert.deepEqual(leak.requests.slice(before), [], "the CSP blocked every load");
    assert.equal(await p.evaluate(() => window.pwned), undefined);
  } finally {
    await context.close();
  }
});

test("a link opens a new tab with no opener and no Referer", async () => {
  const { page: p, context } = await openPage(browser, page.origin);
  try {
    await p.goto("/");
    await p.waitForFunction(() => "pk" in window);
    await p.evaluate(
      (L) => window.pk.mount("html", `<p><a id="go" href="${L}/clicked" target="_self">open</a></p>`),
      leak.origin,
    );
    const popup = context.waitForEvent("page");
    await frameOf(p).click("#go");
    const tab = await popup;
    await waitUntil(() => leak.requests.some((r) => r.path === "/clicked"), 10_000, "link opened");
    assert.equal(leak.requests.find((r) => r.path === "/clicked")?.referer, undefined);
    assert.equal(await tab.evaluate(() => window.opener), null);
    assert.equal(p.url(), `${page.origin}/`, "the app itself did not navigate");
  } finally {
    await context.close();
  }
});

test("the frame grows to its content; plain text is escaped and its links made safe", async () => {
  const { page: p, context } = await openPage(browser, page.origin);
  try {
    await p.goto("/");
    await p.waitForFunction(() => "pk" in window);
    await p.evaluate(async () => {
      const pk = window.pk;
      await pk.mount("html", `<div style="height:1500px">tall</div><p id="last">bottom</p>`);
      await pk.settle();
    });
    const box = await p.locator("iframe.reader-frame").boundingBox();
    assert.ok(box && box.height >= 1500, `frame height ${box?.height}`);

    await p.evaluate(() =>
      window.pk.mount(
        "text",
        "Hi <b>there</b> <img src=x onerror=parent.pwned=1>\nsee https://example.com/a?b=1, and javascript:alert(1) or www.example.org.",
      ),
    );
    const text = p.getByTestId("reader-text");
    await text.waitFor();
    assert.match((await text.textContent()) ?? "", /Hi <b>there<\/b> <img src=x onerror=parent.pwned=1>/);
    assert.equal(await text.locator("b, img").count(), 0, "markup in text stays text");
    const links = await text
      .locator("a")
      .evaluateAll((as) =>
        as.map((a) => [a.getAttribute("href"), a.getAttribute("target"), a.getAttribute("rel")]),
      );
    assert.deepEqual(links, [
      ["https://example.com/a?b=1", "_blank", "noopener noreferrer"],
      ["https://www.example.org", "_blank", "noopener noreferrer"],
    ]);
    assert.equal(await p.evaluate(() => window.pwned), undefined);
  } finally {
    await context.close();
  }
});

test("in Swedish the notice, its button and the headers are Swedish", async () => {
  const { page: p, context } = await openPage(browser, page.origin, { locale: "sv-SE" });
  try {
    await p.goto("/");
    await p.waitForFunction(() => "pk" in window);
    await p.evaluate(async (L) => {
      window.pk.setLang("sv");
      await window.pk.mount("html", `<img src="${L}/sv.png">`);
    }, leak.origin);
    await p.getByText("Externa bilder blockerade.").waitFor();
    await p.getByRole("button", { name: "Visa externa bilder" }).waitFor();
    await p.getByText("Från", { exact: true }).waitFor();
    assert.equal(await p.getByRole("link", { name: /Ladda ner doc\.pdf/ }).count(), 1);
  } finally {
    await context.close();
  }
});
