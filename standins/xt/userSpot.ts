/**
 * The XT.COM stand-in's documented spot endpoints, behind the gate (xt/userGate.ts): the balances
 * (fixed, xt/orders.ts's ASSETS) and the orders, kept in memory in one Book per user.
 */
import type { Request, Response, Router } from 'express';
import { ASSETS, Book } from './orders.js';
import { envelope, ok } from './envelope.js';

/** The user's order book, from the user id the gate left in `res.locals`. */
type BookOf = (res: Response) => Book;

/** Adds the spot routes to `r` (after the gate). */
export function spotRoutes(r: Router, clock: () => number): void {
  const book = userBooks(clock);
  balanceRoutes(r);
  orderQueryRoutes(r, book);
  orderChangeRoutes(r, book, clock);
}

/** One Book per user, made on first use; order ids count up from a random start. */
function userBooks(clock: () => number): BookOf {
  const books = new Map<string, Book>();
  let seq = 1_000_000_000_000 + Math.floor(Math.random() * 1e9);
  const bookOf = (userId: string) =>
    books.get(userId) ?? books.set(userId, new Book(() => String(++seq), clock())).get(userId)!;
  return (res) => bookOf(res.locals.userId as string);
}

const q = (req: Request, k: string): string | undefined => {
  const v = req.query[k];
  return typeof v === 'string' ? v : undefined;
};
/** The request's JSON object body (the raw text the gate kept), or undefined when it is not one. */
const jsonBody = (res: Response): Record<string, unknown> | undefined => {
  try {
    const v = JSON.parse((res.locals.body as string) || '{}') as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};
const fail = (res: Response, mc: string) => res.status(400).json(envelope(1, mc));

function balanceRoutes(r: Router): void {
  r.get('/spot/v4/balance', (req, res) => {
    const a = ASSETS.find((x) => x.currency === q(req, 'currency')?.toLowerCase());
    if (!a) return void fail(res, 'CURRENCY_NOT_FOUND');
    res.json(ok(a));
  });
  r.get('/spot/v4/balances', (req, res) => {
    const want = q(req, 'currencies')?.toLowerCase().split(',').filter(Boolean);
    const assets = want?.length ? ASSETS.filter((a) => want.includes(a.currency)) : ASSETS;
    res.json(ok({ totalUsdtAmount: '10342.51', totalBtcAmount: '0.1032', assets }));
  });
}

function orderQueryRoutes(r: Router, book: BookOf): void {
  r.get('/spot/v4/order', (req, res) => {
    const order = book(res).find({ orderId: q(req, 'orderId'), clientOrderId: q(req, 'clientOrderId') });
    if (!order) return void fail(res, 'ORDER_NOT_FOUND');
    res.json(ok(order));
  });
  r.get('/spot/v4/order/:orderId', (req, res) => {
    const order = book(res).find({ orderId: String(req.params.orderId) });
    if (!order) return void fail(res, 'ORDER_NOT_FOUND');
    res.json(ok(order));
  });
  r.get('/spot/v4/batch-order', (req, res) => {
    const ids = (q(req, 'orderIds') ?? '').split(',').filter(Boolean);
    res.json(ok(ids.map((id) => book(res).find({ orderId: id })).filter(Boolean)));
  });
  r.get('/spot/v4/open-order', (req, res) => void res.json(ok(book(res).open(q(req, 'symbol')))));
  r.get(
    '/spot/v4/history-order',
    (req, res) => void res.json(ok({ hasPrev: false, hasNext: false, items: book(res).history(q(req, 'symbol')) })),
  );
  r.get(
    '/spot/v4/trade',
    (req, res) =>
      void res.json(
        ok({
          hasPrev: false,
          hasNext: false,
          items: book(res).fills.filter((f) => !q(req, 'symbol') || f.symbol === q(req, 'symbol')),
        }),
      ),
  );
}

function orderChangeRoutes(r: Router, book: BookOf, clock: () => number): void {
  r.post('/spot/v4/order', (_req, res) => {
    const body = jsonBody(res);
    if (!body) return void fail(res, 'BODY_INVALID');
    const placed = book(res).place(body, clock());
    if (typeof placed === 'string') return void fail(res, placed);
    res.json(ok({ orderId: placed.orderId }));
  });
  r.delete('/spot/v4/order/:orderId', (req, res) => {
    if (!book(res).cancel(String(req.params.orderId), clock())) return void fail(res, 'ORDER_NOT_FOUND');
    res.json(ok({ cancelId: String(req.params.orderId) }));
  });
  r.delete('/spot/v4/batch-order', (_req, res) => {
    const ids = jsonBody(res)?.orderIds;
    if (!Array.isArray(ids)) return void fail(res, 'BODY_INVALID');
    for (const id of ids) book(res).cancel(String(id), clock());
    res.json(ok(null));
  });
  r.delete('/spot/v4/open-order', (_req, res) => {
    const symbol = jsonBody(res)?.symbol;
    for (const order of book(res).open(typeof symbol === 'string' ? symbol : undefined))
      book(res).cancel(order.orderId, clock());
    res.json(ok(null));
  });
}
