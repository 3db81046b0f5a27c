// Private name resolution for one Node process (never the machine's /etc/hosts): loaded with
// `node --import`, it answers dns.lookup for the names in WIKIBOT_HOSTS ({"name": "address"}) and leaves
// every other name to the system resolver. Used so the test PDS can reach our https client metadata host.
import dns from 'node:dns'
import { syncBuiltinESMExports } from 'node:module'

const hosts = JSON.parse(process.env.WIKIBOT_HOSTS || '{}')
const familyOf = (address) => (address.includes(':') ? 6 : 4)
const original = dns.lookup
const originalPromise = dns.promises.lookup

dns.lookup = function lookup(hostname, options, callback) {
  if (typeof options === 'function') {
    callback = options
    options = {}
  } else if (typeof options === 'number') {
    options = { family: options }
  }
  options = options || {}
  const address = hosts[String(hostname).toLowerCase()]
  if (address === undefined) return original.call(dns, hostname, options, callback)
  const entry = { address, family: familyOf(address) }
  process.nextTick(() => (options.all ? callback(null, [entry]) : callback(null, address, entry.family)))
  return {}
}

dns.promises.lookup = async function lookup(hostname, options = {}) {
  if (typeof options === 'number') options = { family: options }
  const address = hosts[String(hostname).toLowerCase()]
  if (address === undefined) return originalPromise.call(dns.promises, hostname, options)
  const entry = { address, family: familyOf(address) }
  return options.all ? [entry] : entry
}

syncBuiltinESMExports()
