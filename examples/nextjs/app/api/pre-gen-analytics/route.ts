import { pregen, respond } from '@/lib/pregen'

export const dynamic = 'force-dynamic'

export const GET = async (req: Request) => respond(await (await pregen()).analyticsRoute(req.headers.get('authorization')))
