module trading-bot.local/images/imagetool

go 1.25.0
