CREATE TABLE "imap_mailboxes" (
	"tenant_id" uuid NOT NULL,
	"channel_id" uuid NOT NULL,
	"folder" text NOT NULL,
	"mailbox_key" text NOT NULL,
	"uid_validity" text,
	"last_uid" bigint DEFAULT 0 NOT NULL,
	"lease_owner" text,
	"lease_until" timestamp (3) with time zone,
	"polled_at" timestamp (3) with time zone,
	"poll_error" text,
	"last_success_at" timestamp (3) with time zone,
	"failures" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "imap_mailboxes_tenant_id_channel_id_folder_pk" PRIMARY KEY("tenant_id","channel_id","folder")
);
--> statement-breakpoint
ALTER TABLE "channels" ADD COLUMN "imap_password" text;--> statement-breakpoint
ALTER TABLE "imap_mailboxes" ADD CONSTRAINT "imap_mailboxes_tenant_id_channel_id_channels_tenant_id_id_fk" FOREIGN KEY ("tenant_id","channel_id") REFERENCES "public"."channels"("tenant_id","id") ON DELETE no action ON UPDATE no action;