-- Delivery of replies. A reply is committed with its input, then posted by
-- the front end, which marks it delivered; a redelivered input whose reply
-- was never delivered is answered again, and the bot posts the rest at
-- startup.
ALTER TABLE inputs ADD COLUMN delivered_at INTEGER;
-- Where the input was made when that is not the conversation's place (a
-- ticket thread inside the channel), so a late reply is posted there.
ALTER TABLE inputs ADD COLUMN origin TEXT;
-- Replies stored before delivery was tracked were posted then.
UPDATE inputs SET delivered_at = at;
CREATE INDEX inputs_undelivered ON inputs(at) WHERE delivered_at IS NULL;
