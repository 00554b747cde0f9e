/** The TradingBot component's type token (former owners of shared resources are found by it). */
export const TRADING_BOT_TYPE = "trading-bot:index:TradingBot";
