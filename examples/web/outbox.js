// The portal's write-ahead outbox in IndexedDB: every TC is stored there
// before it is sent (runValidator's `persist` step) and leaves it in the same
// IndexedDB transaction that keeps its ACK, so a reload or a crash never
// loses an entry nor seals a second envelope for it: on the next connect the
// stored validators resume the same TCs (`Validator.fromJSON`).

const DB_NAME = "ehrchain-portal";

/** The request's result, as a promise. */
const done = (request) =>
  new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

/** A transaction's completion, as a promise (durable once it resolves). */
const committed = (tx) =>
  new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error("the outbox transaction was aborted"));
  });

/** Opens the outbox: `{ save, finish, pending, acks }`, an `Outbox` for runValidator. */
export async function openOutbox() {
  const open = indexedDB.open(DB_NAME, 1);
  open.onupgradeneeded = () => {
    open.result.createObjectStore("outbox");
    open.result.createObjectStore("acks", { autoIncrement: true });
  };
  const db = await done(open);
  return {
    async save(key, entry) {
      const tx = db.transaction("outbox", "readwrite", { durability: "strict" });
      tx.objectStore("outbox").put(entry, key);
      await committed(tx);
    },
    async finish(key, acks) {
      const tx = db.transaction(["outbox", "acks"], "readwrite", { durability: "strict" });
      for (const ack of acks) tx.objectStore("acks").add(ack);
      if (key !== undefined) tx.objectStore("outbox").delete(key);
      await committed(tx);
    },
    /** The stored entries of TIs without an ACK yet. */
    async pending() {
      return done(db.transaction("outbox").objectStore("outbox").getAll());
    },
    /** Every ACK stored so far. */
    async acks() {
      return done(db.transaction("acks").objectStore("acks").getAll());
    },
  };
}
