import { createHash } from 'node:crypto';

/**
 * Key layout. A Lua script, or a command on several keys, must touch keys of one hash slot to work on
 * Redis Cluster, so keys that go together share a hash tag (the part in braces):
 *
 *   conn:{p<n>}:<owner>:<provider>  a connection (token set), n = partitionOf(owner)
 *   conns:{p<n>}                     partition n's page index of its connections (connectionIndex.ts):
 *                                    a ZSET of `<owner> NUL <provider>`, scored 0, read by lexical range
 *   connexp:{p<n>}                   partition n's expiry index (dueIndex.ts): the same members, scored by
 *                                    when each is due (a subject's refresh-token expiry), read by score
 *   outbox:{p<n>}:…                  partition n's outbox (below), beside its owners' connections
 *   tx:<owner>, lock:<key>, mark:<key>, idx:<key>, bclt:<key>, sess:<sid>, rl:<name>:<key>
 *                                    one key per command or script: no tag, spread over every slot
 *                                    (idx: the back-channel logout index, a provider session or user
 *                                    → owners; read first, then each owner's keys are touched apart;
 *                                    bclt: a logout's tombstone, the time a session or user was logged out)
 *   {xtguard}:…                      the XT.COM call windows, checked together (slidingLog.ts)
 *
 * A connection write and the outbox event it carries are one script, so owners are spread over
 * PARTITIONS fixed partitions, each a hash tag of its own: an owner's connections and the outbox
 * queue of its group (the owner itself, see connections/events.ts) live in its partition. On a cluster
 * an event's group must therefore fall in the same partition as the owner whose connection it
 * reports (it is the owner); on one server anything goes. PARTITIONS must never change: every
 * stored connection would move.
 *
 * Each partition's outbox:
 *   outbox:{p<n>}:seq       INCR, the order events were added in (per partition: a group's order)
 *   outbox:{p<n>}:ev        HASH id -> JSON {seq, group, value, createdAt, attempts, firstCreatedAt (replayed)}
 *   outbox:{p<n>}:lease     HASH id -> the token of the claim holding it
 *   outbox:{p<n>}:created   ZSET id by createdAt (for stats)
 *   outbox:{p<n>}:g:<group> ZSET id by seq: the group's queue, its head first
 *   outbox:{p<n>}:due       ZSET group -> when its head may be claimed (its next attempt, or its lease's end)
 *   outbox:{p<n>}:dead      HASH id -> JSON {group, value, createdAt (the first), attempts, diedAt, state}:
 *                           kept events, for a replay: dead letters, and delivered ones (state "delivered")
 *   outbox:{p<n>}:deadexp   ZSET id by when the kept event expires (pruned by each keep, read and replay)
 *   outbox:{p<n>}:deadat    ZSET id by when the kept event was first created (a replay's range)
 * A claim reads every partition's due groups and takes the earliest due across them all (as one
 * sorted set would order them); a lease token names its partition, so done and retry find it.
 */
export const PARTITIONS = 16;

/** The partition an owner (or an outbox group) lives in. */
export function partitionOf(id: string): number {
  return createHash('sha256').update(id).digest().readUInt32BE(0) % PARTITIONS;
}

export const PARTITION_LIST = Array.from({ length: PARTITIONS }, (_, p) => p);

/** The webhook delivery log: one sorted set (members `<key>\t<json>`, all score 0: in key order), one hash tag. */
export const deliveryLogKey = (prefix: string) => `${prefix}whlog:{whlog}`;

export function outboxKeys(prefix: string, partition: number) {
  const base = `${prefix}outbox:{p${partition}}:`;
  return {
    seq: `${base}seq`,
    ev: `${base}ev`,
    lease: `${base}lease`,
    created: `${base}created`,
    due: `${base}due`,
    dead: `${base}dead`,
    deadExp: `${base}deadexp`,
    deadAt: `${base}deadat`,
    group: (group: string) => `${base}g:${group}`,
  };
}

/** A lease token is `<random>.<partition>.<n>`; the partition, or undefined for a token that is none of ours. */
export function leasePartition(lease: string): number | undefined {
  const m = /^[0-9a-f]+\.(\d+)\.\d+$/.exec(lease);
  const p = Number(m?.[1]);
  return m && p < PARTITIONS ? p : undefined;
}

/** A partition's page index of its connections, and the prefix of its connection keys (see the layout above). */
export function connectionKeys(prefix: string, partition: number) {
  return {
    index: `${prefix}conns:{p${partition}}`,
    record: `${prefix}conn:{p${partition}}:`,
    due: `${prefix}connexp:{p${partition}}`,
  };
}

/** A connection's member in its partition's page index: lexical order is (owner, provider) order. */
export const connectionMember = (owner: string, provider: string) => `${owner}\u0000${provider}`;
