import { pregen, respondJson } from '@/lib/pregen'

export const dynamic = 'force-dynamic'

// The body (a whole exam when one is served) comes from the addon as JSON text and is sent as it is.
export const GET = async (req: Request) => respondJson(await (await pregen()).getRouteJson(new URL(req.url).search))
