/**
 * The XT.COM stand-in's spot account for each user: fixed balances and orders kept in memory.
 * Plausible data in XT.COM's documented shapes (provider notes, "Calling user APIs with the token").
 */

export interface Order {
  symbol: string;
  orderId: string;
  clientOrderId: string | null;
  baseCurrency: string;
  quoteCurrency: string;
  side: 'BUY' | 'SELL';
  type: 'LIMIT' | 'MARKET';
  timeInForce: string;
  price: string;
  origQty: string;
  executedQty: string;
  leavingQty: string;
  avgPrice: string;
  state: 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED';
  closed: boolean;
  time: number;
  updatedTime: number;
}

export interface Fill {
  symbol: string;
  tradeId: string;
  orderId: string;
  orderSide: 'BUY' | 'SELL';
  price: string;
  quantity: string;
  fee: string;
  feeCurrency: string;
  time: number;
}

export const ASSETS = [
  {
    currency: 'usdt',
    currencyId: 11,
    frozenAmount: '0',
    availableAmount: '8200.00',
    totalAmount: '8200.00',
    convertBtcAmount: '0.0820',
  },
  {
    currency: 'btc',
    currencyId: 2,
    frozenAmount: '0.001',
    availableAmount: '0.0201',
    totalAmount: '0.0211',
    convertBtcAmount: '0.0211',
  },
  {
    currency: 'eth',
    currencyId: 3,
    frozenAmount: '0',
    availableAmount: '0.35',
    totalAmount: '0.35',
    convertBtcAmount: '0.0001',
  },
];

export interface PlaceOrder {
  symbol?: unknown;
  side?: unknown;
  type?: unknown;
  timeInForce?: unknown;
  bizType?: unknown;
  price?: unknown;
  quantity?: unknown;
  quoteQty?: unknown;
  clientOrderId?: unknown;
}

const num = (v: unknown) =>
  typeof v === 'number' || (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v)) ? Number(v) : undefined;

/** One user's orders and fills. */
export class Book {
  readonly orders: Order[] = [];
  readonly fills: Fill[] = [];

  constructor(
    private readonly nextId: () => string,
    now: number,
  ) {
    // Two resting orders, so an account page has something to show.
    this.add({ symbol: 'btc_usdt', side: 'BUY', type: 'LIMIT', price: '60000', quantity: '0.001' }, now - 3_600_000);
    this.add({ symbol: 'eth_usdt', side: 'SELL', type: 'LIMIT', price: '4000', quantity: '0.2' }, now - 600_000);
  }

  /** An order from a POST body, or the business code XT.COM would answer. */
  place(b: PlaceOrder, now: number): Order | string {
    if (typeof b.symbol !== 'string' || !/^[a-z0-9]+_[a-z0-9]+$/i.test(b.symbol)) return 'ORDER_SYMBOL_INVALID';
    if (b.side !== 'BUY' && b.side !== 'SELL') return 'ORDER_SIDE_INVALID';
    if (b.type !== 'LIMIT' && b.type !== 'MARKET') return 'ORDER_TYPE_INVALID';
    if (b.bizType !== undefined && b.bizType !== 'SPOT') return 'ORDER_BIZTYPE_INVALID';
    const quantity = num(b.quantity);
    if (quantity === undefined || quantity <= 0) return 'ORDER_QUANTITY_INVALID';
    const price = num(b.price);
    if (b.type === 'LIMIT' && !(price !== undefined && price > 0)) return 'ORDER_PRICE_INVALID';
    if (b.clientOrderId !== undefined && (typeof b.clientOrderId !== 'string' || b.clientOrderId.length > 32))
      return 'ORDER_CLIENT_ID_INVALID';
    const timeInForce = typeof b.timeInForce === 'string' ? b.timeInForce : 'GTC';
    return this.add(
      {
        symbol: b.symbol.toLowerCase(),
        side: b.side,
        type: b.type,
        price: String(price ?? 0),
        quantity: String(quantity),
        clientOrderId: b.clientOrderId,
        timeInForce,
      },
      now,
    );
  }

  private add(
    p: {
      symbol: string;
      side: 'BUY' | 'SELL';
      type: 'LIMIT' | 'MARKET';
      price: string;
      quantity: string;
      clientOrderId?: string;
      timeInForce?: string;
    },
    now: number,
  ): Order {
    const [base = '', quote = ''] = p.symbol.split('_');
    const market = p.type === 'MARKET';
    const order: Order = {
      symbol: p.symbol,
      orderId: this.nextId(),
      clientOrderId: p.clientOrderId ?? null,
      baseCurrency: base,
      quoteCurrency: quote,
      side: p.side,
      type: p.type,
      timeInForce: p.timeInForce ?? 'GTC',
      price: p.price,
      origQty: p.quantity,
      executedQty: market ? p.quantity : '0',
      leavingQty: market ? '0' : p.quantity,
      avgPrice: market ? '61000' : '0',
      state: market ? 'FILLED' : 'NEW',
      closed: market,
      time: now,
      updatedTime: now,
    };
    this.orders.push(order);
    if (market)
      this.fills.push({
        symbol: p.symbol,
        tradeId: this.nextId(),
        orderId: order.orderId,
        orderSide: p.side,
        price: '61000',
        quantity: p.quantity,
        fee: '0.0001',
        feeCurrency: quote,
        time: now,
      });
    return order;
  }

  find(q: { orderId?: string; clientOrderId?: string }): Order | undefined {
    return this.orders.find((o) =>
      q.orderId !== undefined
        ? o.orderId === q.orderId
        : q.clientOrderId !== undefined && o.clientOrderId === q.clientOrderId,
    );
  }

  open(symbol?: string): Order[] {
    return this.orders.filter((o) => !o.closed && (!symbol || o.symbol === symbol));
  }

  history(symbol?: string): Order[] {
    return this.orders.filter((o) => o.closed && (!symbol || o.symbol === symbol));
  }

  /** Cancels an open order; false when there is none by that id. */
  cancel(orderId: string, now: number): boolean {
    const o = this.orders.find((x) => x.orderId === orderId && !x.closed);
    if (!o) return false;
    o.state = 'CANCELED';
    o.closed = true;
    o.updatedTime = now;
    return true;
  }
}
