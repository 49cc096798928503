import { assertEquals } from "../assert.ts";
import { ManualClock } from "../../lib/clock.ts";
import { type KeepaliveOwner, KeepaliveTimers } from "../../hub/keepalive_timers.ts";

class Owner implements KeepaliveOwner {
  keepaliveAt = 0;
  expired = 0;
  constructor(readonly timers: KeepaliveTimers, readonly onExpire?: (o: Owner) => void) {}
  reset(): void {
    this.keepaliveAt = this.timers.set(this);
  }
  end(): void {
    if (this.keepaliveAt === 0) return;
    this.keepaliveAt = 0;
    this.timers.cancel();
  }
  keepaliveExpired(): void {
    this.expired++;
    if (this.onExpire) this.onExpire(this);
    else this.end();
  }
}

Deno.test("keepalive timers: each owner expires interval after its last reset, on one timer", () => {
  const clock = new ManualClock();
  const timers = new KeepaliveTimers(clock, 30_000);
  const a = new Owner(timers);
  const b = new Owner(timers);
  a.reset();
  clock.advance(10_000);
  b.reset();
  assertEquals(clock.pending, 1);
  clock.advance(10_000);
  a.reset(); // a: due at 50 s, b: due at 40 s
  clock.advance(19_999);
  assertEquals([a.expired, b.expired], [0, 0]);
  clock.advance(1);
  assertEquals([a.expired, b.expired], [0, 1]);
  clock.advance(9_999);
  assertEquals(a.expired, 0);
  clock.advance(1);
  assertEquals([a.expired, b.expired], [1, 1]);
  assertEquals(clock.pending, 0); // nobody has a deadline: no timer left
});

Deno.test("keepalive timers: an owner may extend from its expiry; ending the last drops the timer", () => {
  const clock = new ManualClock();
  const timers = new KeepaliveTimers(clock, 1_000);
  const a = new Owner(timers, (o) => o.reset()); // extends, like a session paused for reading
  const b = new Owner(timers);
  a.reset();
  b.reset();
  clock.advance(1_000);
  assertEquals([a.expired, b.expired], [1, 1]);
  clock.advance(1_000);
  assertEquals(a.expired, 2);
  assertEquals(clock.pending, 1);
  a.end();
  assertEquals(clock.pending, 0);
});
