// A bounded channel built on Promises: the workers' queues of `promises.mjs`
// and `async.mjs`.
//
// `send(item)` returns a Promise that resolves once the item is in the queue:
// at once if there is room, later if the queue is full. A producer that waits
// for it before sending the next item is slowed down to the pace of its
// consumer: backpressure. `recv()` returns a Promise of the next item, or of
// undefined once the channel is closed and empty, so a consumer's loop ends
// after the last item, with nothing left behind. `close()` says no more items
// will be sent.
//
// This is what Rust's `async_channel::bounded` does, written with `new Promise`
// and the `resolve` functions it hands out: a Promise that waits is a `resolve`
// kept in a list until its moment comes. No `async`/`await` here, because the
// Promise-chains style imports it.
//
// Read next: `promises.mjs`.

import { Fifo } from "./spec.mjs";

// ANCHOR: channel
// ANCHOR: channel_send
export class Channel {
  constructor(capacity) {
    this.capacity = capacity;
    this.items = new Fifo();
    this.senders = new Fifo(); // { item, resolve }: sends waiting for room
    this.receivers = new Fifo(); // resolve: receives waiting for an item
    this.closed = false;
  }

  /** Queues `item`; the Promise resolves once it is in the queue (or taken). */
  send(item) {
    if (this.closed) {
      return Promise.reject(new Error("send on a closed channel"));
    }
    const receiver = this.receivers.shift();
    if (receiver !== undefined) {
      receiver(item); // the queue is empty and a receiver waits: hand it over
      return Promise.resolve();
    }
    if (this.items.length < this.capacity) {
      this.items.push(item);
      return Promise.resolve();
    }
    // Full: the item waits outside the queue with its sender, who waits for
    // room.
    return new Promise((resolve) => this.senders.push({ item, resolve }));
  }

  // ANCHOR_END: channel_send
  // ANCHOR: channel_recv
  /** The next item, or undefined once the channel is closed and empty. */
  recv() {
    if (this.items.length > 0) {
      const item = this.items.shift();
      // One place is free: the longest-waiting sender's item takes it, and it
      // goes on.
      const sender = this.senders.shift();
      if (sender !== undefined) {
        this.items.push(sender.item);
        sender.resolve();
      }
      return Promise.resolve(item);
    }
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.receivers.push(resolve));
  }

  /**
   * No more sends. Waiting receivers get undefined (they wait: the queue is
   * empty).
   */
  close() {
    this.closed = true;
    while (this.receivers.length > 0) this.receivers.shift()(undefined);
  }
}
// ANCHOR_END: channel_recv
// ANCHOR_END: channel
