/** Preloaded (`node -r`) into a process the bench starts: its peak RSS (KB) as the last stderr line at exit. */
process.on('exit', () => process.stderr.write(`peak-rss-kb ${process.resourceUsage().maxRSS}\n`));
