CREATE TABLE "early_delivery_statuses" (
	"tenant_id" uuid NOT NULL,
	"channel_id" uuid NOT NULL,
	"provider_message_id" text NOT NULL,
	"status" text NOT NULL,
	"error" text,
	"received_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "early_delivery_statuses_tenant_id_channel_id_provider_message_id_status_pk" PRIMARY KEY("tenant_id","channel_id","provider_message_id","status")
);
--> statement-breakpoint
ALTER TABLE "early_delivery_statuses" ADD CONSTRAINT "early_delivery_statuses_tenant_id_channel_id_channels_tenant_id_id_fk" FOREIGN KEY ("tenant_id","channel_id") REFERENCES "public"."channels"("tenant_id","id") ON DELETE no action ON UPDATE no action;