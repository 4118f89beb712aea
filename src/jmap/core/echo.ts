/** Core/echo (RFC 8620 §4): returns its arguments. */
import type { MethodHandler } from "./types.ts";

export const echo: MethodHandler = async (args) => args;
