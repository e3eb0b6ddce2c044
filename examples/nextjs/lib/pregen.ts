// One pregen service per server process, opened on first use from the environment (PREGEN_DB or DATABASE_URL,
// ANTHROPIC_API_KEY, CRON_SECRET, PREGEN_*), and the one-line answer of a route helper.
import { PreGen, type RouteJson, type RouteResponse } from 'pregen-node'

let opened: Promise<PreGen> | undefined

/** The process's service. A failed open is not kept, so the next request tries again. */
export function pregen(): Promise<PreGen> {
  opened ??= PreGen.open().catch((e: unknown) => {
    opened = undefined
    throw e
  })
  return opened
}

/** A route helper's `{status, body}` as a JSON response. */
export function respond<B>(answer: RouteResponse<B>): Response {
  return Response.json(answer.body, { status: answer.status })
}

/** A route helper's answer whose body is already JSON text (`getRouteJson`), sent as it is: no `JSON.parse` and
 * `JSON.stringify` of a whole exam on the request's thread. */
export function respondJson(answer: RouteJson): Response {
  return new Response(answer.body, { status: answer.status, headers: { 'content-type': 'application/json' } })
}

/** How long a page-load trigger keeps working after its response (`PREGEN_DRAIN_BUDGET_MS`, default 20 s). */
export const drainBudgetMs = Number(process.env.PREGEN_DRAIN_BUDGET_MS ?? 20_000)
