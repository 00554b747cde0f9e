module trading-bot.local/images/pause

go 1.25.0
