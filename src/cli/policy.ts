/**
 * Admin-command policy checks: which names `domain add` accepts as a hosted domain, and the
 * minimum password strength of `user add` / `user passwd` ([auth] min_password_length).
 */
import { isIP } from "node:net";

/**
 * Why name cannot be a hosted domain, or null when it can. A hosted domain is a DNS name with at
 * least two labels: no IP address (RFC 5321 §4.1.3 address literals are not domains), no
 * "localhost" and no single-label name (mail to user@localhost or user@intranet is not hosting).
 */
export function hostedDomainProblem(name: string): string | null {
  const n = name.trim().toLowerCase().replace(/\.$/, "");
  if (n.length === 0) return "the domain name is empty";
  const bare = n.startsWith("[") && n.endsWith("]") ? n.slice(1, -1) : n;
  const literal = bare.toLowerCase().startsWith("ipv6:") ? bare.slice(5) : bare;
  if (isIP(literal) !== 0 || n.startsWith("["))
    return `${name} is an IP address, not a domain name (hosted domains are DNS names such as example.com)`;
  if (n === "localhost" || n.endsWith(".localhost"))
    return `${name} is a loopback name, not a hosted domain (RFC 6761 §6.3)`;
  if (!n.includes(".")) return `${name} is a single-label name; a hosted domain has a dot, e.g. example.com`;
  // dotted decimal with a missing part (e.g. 10.1.2) is not a valid address either; top-level labels are never all digits
  const tld = n.slice(n.lastIndexOf(".") + 1);
  if (/^\d+$/.test(tld)) return `${name} looks like an IP address, not a domain name`;
  return null;
}

export interface PasswordPolicy {
  /** [auth] min_password_length; 0 = no checks */
  minLength: number;
}

/** true when each character's code point is one more (or each one less) than the previous one */
function isRun(cps: number[]): boolean {
  if (cps.length < 3) return false;
  const step = cps[1]! - cps[0]!;
  if (step !== 1 && step !== -1) return false;
  for (let i = 2; i < cps.length; i++) if (cps[i]! - cps[i - 1]! !== step) return false;
  return true;
}

/**
 * Why password is too weak for the account address, or null when it is acceptable. Kept simple
 * (documented with the config key): a minimum length in characters, and no password that is one
 * character repeated, a run of consecutive characters, or the address / its local part / its domain.
 */
export function passwordProblem(password: string, address: string, policy: PasswordPolicy): string | null {
  if (policy.minLength <= 0) return null;
  const cps = [...password].map((c) => c.codePointAt(0)!);
  if (cps.length < policy.minLength)
    return `the password is too short: ${cps.length} characters, at least ${policy.minLength} are required ([auth] min_password_length)`;
  if (cps.every((c) => c === cps[0])) return "the password is one character repeated";
  if (isRun(cps)) return "the password is a run of consecutive characters";
  const p = password.toLowerCase();
  const a = address.trim().toLowerCase();
  const at = a.lastIndexOf("@");
  const names = [a, at >= 0 ? a.slice(0, at) : a, at >= 0 ? a.slice(at + 1) : ""].filter(Boolean);
  if (names.includes(p)) return "the password is the account's address, user name or domain";
  return null;
}
