ALTER TABLE "email_outbox" ALTER COLUMN "raw" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "email_outbox" ADD COLUMN "raw_key" text;--> statement-breakpoint
ALTER TABLE "email_outbox" ADD COLUMN "failed_at" timestamp (3) with time zone;--> statement-breakpoint
-- Large mail queued before raw_key existed named its file inside raw (a NUL byte, then
-- "rapport-raw-mail:", then the store key); failed mail kept its failure time in next_attempt_at.
UPDATE "email_outbox" SET raw_key = convert_from(substring(raw from 19), 'LATIN1'), raw = NULL
  WHERE length(raw) <= 200 AND substring(raw from 1 for 18) = '\x00726170706f72742d7261772d6d61696c3a'::bytea;--> statement-breakpoint
UPDATE "email_outbox" SET failed_at = next_attempt_at WHERE status = 'failed';--> statement-breakpoint
CREATE INDEX "email_outbox_list" ON "email_outbox" USING btree ("tenant_id","status","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
ALTER TABLE "email_outbox" ADD CONSTRAINT "email_outbox_raw_or_key" CHECK ((raw is null) <> (raw_key is null));