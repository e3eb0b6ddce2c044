export default function Home() {
  return (
    <main>
      <h1>pregen on Next.js</h1>
      <ul>
        <li>POST /api/pre-generate-exam</li>
        <li>GET /api/get-pre-generated-exam?userId=..&amp;examType=..</li>
        <li>GET or POST /api/cron/generate-exams (Authorization: Bearer CRON_SECRET)</li>
        <li>GET /api/pre-gen-analytics (Authorization: Bearer CRON_SECRET)</li>
        <li>POST /api/trigger-pre-generation</li>
      </ul>
    </main>
  )
}
