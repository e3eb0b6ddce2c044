import type { NextConfig } from 'next'

const nextConfig: NextConfig = {
  // The addon is a native module: Next.js must require it at run time, not bundle it.
  serverExternalPackages: ['pregen-node'],
  // Gzip of a 300 KB practice exam costs the Node thread milliseconds per get; leave it to Vercel's edge or
  // the reverse proxy in front (Next.js compresses with gzip by default).
  compress: false,
}

export default nextConfig
