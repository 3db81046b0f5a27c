// Starts the reference PDS (@atproto/pds) from PDS_* environment variables; prints "ready" once listening.
import { PDS, envToCfg, envToSecrets, readEnv } from '@atproto/pds'

const env = readEnv()
const pds = await PDS.create(envToCfg(env), envToSecrets(env))
await pds.start()
console.log('ready')
const stop = async () => {
  await pds.destroy()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
