import { pregen, respond } from '@/lib/pregen'

export const dynamic = 'force-dynamic'
// A sweep works for PREGEN_SWEEP_BUDGET_SECS (default 50) and returns; give the function room for it on Vercel.
export const maxDuration = 60

const sweep = async (req: Request) => respond(await (await pregen()).cronRoute(req.headers.get('authorization')))

// Vercel's cron calls GET; an external cron may POST.
export { sweep as GET, sweep as POST }
