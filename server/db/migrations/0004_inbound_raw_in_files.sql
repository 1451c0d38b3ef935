ALTER TABLE "inbound_emails" ALTER COLUMN "raw" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "inbound_emails" ADD COLUMN "raw_key" text;--> statement-breakpoint
ALTER TABLE "inbound_emails" ADD CONSTRAINT "inbound_emails_raw_or_key" CHECK ((raw is null) <> (raw_key is null));