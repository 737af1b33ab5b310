/**
 * Preloaded into a benchmarked process (`node --import tsx --import ./bench/support/cpu-probe.mjs …`)
 * spawned with an IPC channel: answers `'cpu'` with its own `process.cpuUsage()` (µs), so the
 * bench reads the process's CPU from inside it rather than from /proc's 10 ms ticks. The answer
 * also carries the resident set (`rss`, bytes) and its peak (`maxRss`, kB, getrusage).
 */
if (typeof process.send === 'function') {
  process.on('message', (msg) => {
    if (msg === 'cpu') process.send?.({ cpu: process.cpuUsage(), rss: process.memoryUsage.rss(), maxRss: process.resourceUsage().maxRSS });
  });
  // The channel must not keep a process alive that would otherwise exit.
  process.channel?.unref();
}
