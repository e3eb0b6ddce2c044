import { after } from 'next/server'

import { drainBudgetMs, pregen, respond } from '@/lib/pregen'

// Answers 202 at once; after the response is sent, works the queue for a budget (serverless has no workers).
export const POST = async (req: Request) => {
  const service = await pregen()
  after(() => service.drain(drainBudgetMs).catch((e) => console.error(`[BGJob] drain failed (${e.code}): ${e.message}`)))
  return respond(await service.triggerRoute(await req.text()))
}
