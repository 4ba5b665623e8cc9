// How many times per second `op` runs on one core, measured for `seconds`
// (awaited 16 at a time), printed as `name: N /s (µs each)`: the timing loop
// of the one-core peer harnesses (authorship.mjs, capsule.mjs).
export async function rate(name, op, seconds) {
  let n = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 16; i++) await op(n++);
  }
  const perSecond = n / seconds;
  console.log(`${name}: ${Math.round(perSecond)} /s (${(1e6 / perSecond).toFixed(1)} µs each)`);
  return perSecond;
}
