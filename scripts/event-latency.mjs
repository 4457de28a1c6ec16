// Commit-to-socket latency of the event stream, for scripts/bench-writes.sh: opens SOCKETS
// anonymous sockets to the server, and for every event carrying `sent_at` (seconds since the
// epoch, taken by the writing transaction just before its commit) records how long after it
// the event arrived, on each socket. Stops after SECONDS, or once every socket saw EXPECTED
// events; prints one JSON line: {"deliveries", "p50_ms", "p99_ms", "max_ms"}.
//
//   node --experimental-websocket scripts/event-latency.mjs URL SOCKETS SECONDS EXPECTED

const [url, socketCount, seconds, expected] = process.argv.slice(2);
const sockets = Number(socketCount);
const latencies = [];
const seen = new Array(sockets).fill(0);

const done = new Promise((resolve) => {
  const timer = setTimeout(resolve, Number(seconds) * 1000);
  let opened = 0;
  for (let index = 0; index < sockets; index += 1) {
    const socket = new WebSocket(url.replace(/^http/, 'ws') + '/ws');
    socket.onopen = () => {
      opened += 1;
      if (opened === sockets) console.error('event-latency: all sockets open');
    };
    socket.onmessage = (message) => {
      const frame = JSON.parse(message.data);
      const sentAt = frame.type === 'event' ? frame.event.sent_at : undefined;
      if (typeof sentAt !== 'number') return;
      latencies.push(Date.now() - sentAt * 1000);
      seen[index] += 1;
      if (seen.every((count) => count >= Number(expected))) {
        clearTimeout(timer);
        resolve();
      }
    };
    socket.onerror = (error) => console.error(`event-latency: socket ${index}: ${error.message}`);
  }
});

await done;
latencies.sort((a, b) => a - b);
const at = (share) => latencies[Math.min(latencies.length - 1, Math.floor(share * latencies.length))];
console.log(JSON.stringify({
  deliveries: latencies.length,
  p50_ms: latencies.length ? Math.round(at(0.5)) : null,
  p99_ms: latencies.length ? Math.round(at(0.99)) : null,
  max_ms: latencies.length ? Math.round(latencies[latencies.length - 1]) : null,
}));
process.exit(0);
