import { pregen, respond } from '@/lib/pregen'

export const POST = async (req: Request) => respond(await (await pregen()).preGenerateRoute(await req.text()))
