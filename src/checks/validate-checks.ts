// Placeholder until the checks branch lands (it replaces this file).
import type { Check } from '../schemas/checks.js'
export function checkProblems (_checks: Check[], _opts: { root: string | null, commandsEnabled: boolean }): string[] { return [] }
export function describeCheck (check: Check): string { return check.kind }
