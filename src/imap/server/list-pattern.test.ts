import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileListPattern, joinReference, type MatchCounter, matchListPattern } from "./list-pattern.ts";

const m = (pattern: string, name: string) => matchListPattern(compileListPattern(pattern), name);

describe("LIST pattern matcher (RFC 9051 §6.3.9)", () => {
  it('"*" matches anything, across the delimiter', () => {
    assert.ok(m("*", ""));
    assert.ok(m("*", "INBOX"));
    assert.ok(m("*", "a/b/c"));
    assert.ok(m("Work*", "Work"));
    assert.ok(m("Work*", "Work/Projects/Alpha"));
    assert.ok(m("*/Alpha", "Work/Projects/Alpha"));
    assert.ok(m("W*s/A*", "Work/Projects/Alpha"));
    assert.ok(!m("Work*", "Wor"));
    assert.ok(!m("*x", "Work/Projects"));
  });

  it('"%" matches anything but the delimiter', () => {
    assert.ok(m("%", "Work"));
    assert.ok(m("%", ""));
    assert.ok(!m("%", "Work/Projects"));
    assert.ok(m("Work/%", "Work/Projects"));
    assert.ok(!m("Work/%", "Work/Projects/Alpha"));
    assert.ok(m("%/%/%", "Work/Projects/Alpha"));
    assert.ok(!m("%/%", "Work/Projects/Alpha"));
    assert.ok(m("W%k", "Work"));
    assert.ok(!m("W%a", "Work/Pa"));
    assert.ok(m("%/*", "Work/Projects/Alpha"));
    assert.ok(m("*/%", "Work/Projects/Alpha"));
    // "%*" and "*%" are "*"; "%%" is "%"
    assert.ok(m("W%*a", "Work/Projects/Alpha"));
    assert.ok(m("W*%a", "Work/Projects/Alpha"));
    assert.ok(!m("W%%a", "Work/Projects/Alpha"));
    assert.ok(m("W%%k", "Work"));
  });

  it("literals match exactly and case-sensitively; no RegExp metacharacters", () => {
    assert.ok(m("Work", "Work"));
    assert.ok(!m("work", "Work"));
    assert.ok(!m("Work", "Work/"));
    assert.ok(m("a.b", "a.b"));
    assert.ok(!m("a.b", "axb"));
    assert.ok(m("(a)[b]{c}+?^$|\\", "(a)[b]{c}+?^$|\\"));
    assert.ok(m("Ä*", "Äpfel"));
    assert.ok(m("%😀", "x😀"));
    assert.ok(!m("", "x"));
    assert.ok(m("", ""));
  });

  it("INBOX is case-insensitive, only in the INBOX hierarchy", () => {
    assert.ok(m("inbox", "INBOX"));
    assert.ok(m("InBoX", "INBOX"));
    assert.ok(m("in*", "INBOX"));
    assert.ok(m("inB%", "INBOX"));
    assert.ok(m("inbox/%", "INBOX/Sub"));
    assert.ok(m("inbox/*", "INBOX/Sub/x"));
    assert.ok(!m("inbox/sub", "INBOX/Sub")); // below INBOX names are case-sensitive
    assert.ok(!m("inbox*", "INBOXfoo")); // "INBOXfoo" is not INBOX
    assert.ok(m("INBOX*", "INBOXfoo"));
    assert.ok(m("inbox*", "inboxfoo"));
    assert.ok(!m("in*", "Inside"));
    // only the pattern's leading literals spell INBOX in any case
    assert.ok(!m("*x", "INBOX"));
    assert.ok(!m("%box", "INBOX"));
    assert.ok(m("*BOX", "INBOX"));
    assert.ok(m("inbo%", "INBOX"));
  });

  it("reference and pattern are joined (RFC 9051 §6.3.9)", () => {
    assert.equal(joinReference("Work/", "%"), "Work/%");
    assert.equal(joinReference("", "*"), "*");
    assert.equal(joinReference("#news.", "comp.mail.*"), "#news.comp.mail.*");
    assert.equal(joinReference("~smith/Mail/", "/usr/doc/foo"), "/usr/doc/foo");
    assert.ok(m(joinReference("Work/", "%"), "Work/Projects"));
    assert.ok(!m(joinReference("Work/", "%"), "Work"));
  });

  it("agrees with a brute-force reference matcher on random inputs", () => {
    // exhaustive-split definition: clear, exponential, fine for short strings
    const ref = (p: string, n: string): boolean => {
      if (p === "") return n === "";
      const c = p[0]!;
      if (c === "*" || c === "%") {
        for (let k = 0; k <= n.length; k++) {
          if (c === "%" && n.slice(0, k).includes("/")) break;
          if (ref(p.slice(1), n.slice(k))) return true;
        }
        return false;
      }
      return n[0] === c && ref(p.slice(1), n.slice(1));
    };
    let seed = 42;
    const rnd = (k: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % k;
    };
    const word = (alpha: string, max: number) => {
      let s = "";
      for (let i = rnd(max + 1); i > 0; i--) s += alpha[rnd(alpha.length)];
      return s;
    };
    for (let i = 0; i < 3000; i++) {
      const p = word("ab/*%", 7);
      const n = word("ab/", 8);
      assert.equal(m(p, n), ref(p, n), `pattern ${JSON.stringify(p)} name ${JSON.stringify(n)}`);
    }
  });

  it("pathological patterns cost at most (tokens + 1) × name length steps", () => {
    // the pattern that froze a worker with the RegExp matcher, and longer ones
    const cases: Array<[string, string]> = [
      ["*%*%*%*%*%*%*%*%x", "aaaaaaaaaaaaaaaa"],
      [`${"*%".repeat(5000)}x`, "a".repeat(1000)],
      [`${"a*".repeat(500)}b`, "a".repeat(1000)],
      [`${"%a".repeat(499)}%b`, "a".repeat(999)],
      [`${"*a".repeat(300)}*b`, `${"a/".repeat(499)}a`],
      [`${"a%".repeat(300)}b`, "a".repeat(1000)],
    ];
    for (const [pattern, name] of cases) {
      const p = compileListPattern(pattern);
      const counter: MatchCounter = { steps: 0 };
      assert.equal(matchListPattern(p, name, counter), false, pattern.slice(0, 20));
      const bound = (p.kinds.length + 1) * name.length + 1;
      assert.ok(counter.steps <= bound, `${counter.steps} steps > ${bound} for ${pattern.slice(0, 20)}…`);
    }
    // wildcard runs collapse: the worker-freezing pattern is "*x" (3 tokens)
    assert.equal(compileListPattern("*%*%*%*%*%*%*%*%x").source, "*x");
    assert.equal(compileListPattern("%%%a%%").source, "%a%");
    // a pattern with more literals than the name is refused without simulation
    const counter: MatchCounter = { steps: 0 };
    assert.equal(matchListPattern(compileListPattern("x".repeat(20_000)), "x".repeat(999), counter), false);
    assert.equal(counter.steps, 1);
  });

  it("counts work across calls, also for matches", () => {
    const counter: MatchCounter = { steps: 0 };
    const p = compileListPattern("W%/%");
    assert.ok(matchListPattern(p, "Work/Projects", counter));
    const after = counter.steps;
    assert.ok(after > 0 && after <= (p.kinds.length + 1) * 13 + 1);
    assert.ok(!matchListPattern(p, "Work/Projects/Alpha", counter));
    assert.ok(counter.steps > after);
  });
});
