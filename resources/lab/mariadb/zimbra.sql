-- Mailvault lab: the global database of a Zimbra 10.1 mailbox server (schema db.version 114),
-- restated from Zimbra/zm-db-conf src/db/mysql/db.sql and the migrations up to 114 (see
-- ../SOURCES.md). Tables, columns, types, keys and foreign keys follow Zimbra; users and the
-- volume rows are created by the lab itself (src-main/lab/mariadb.ts, lab.ts), as zmmyinit and
-- zmsetup do on a real install.

CREATE DATABASE zimbra DEFAULT CHARACTER SET utf8;
USE zimbra;

CREATE TABLE volume (
  id                    TINYINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  type                  TINYINT NOT NULL,
  name                  VARCHAR(255) NOT NULL,
  path                  TEXT NOT NULL,
  file_bits             SMALLINT NOT NULL,
  file_group_bits       SMALLINT NOT NULL,
  mailbox_bits          SMALLINT NOT NULL,
  mailbox_group_bits    SMALLINT NOT NULL,
  compress_blobs        BOOLEAN NOT NULL,
  compression_threshold BIGINT NOT NULL,
  metadata              MEDIUMTEXT,
  store_type            TINYINT(1) NOT NULL DEFAULT 1,
  store_manager_class   VARCHAR(255) DEFAULT 'com.zimbra.cs.store.file.FileBlobStore',
  UNIQUE INDEX i_name (name),
  UNIQUE INDEX i_path (path(255))
) ENGINE = InnoDB;

CREATE TABLE current_volumes (
  message_volume_id           TINYINT UNSIGNED NOT NULL,
  secondary_message_volume_id TINYINT UNSIGNED,
  index_volume_id             TINYINT UNSIGNED NOT NULL,
  next_mailbox_id             INTEGER UNSIGNED NOT NULL,
  INDEX i_message_volume_id (message_volume_id),
  INDEX i_secondary_message_volume_id (secondary_message_volume_id),
  INDEX i_index_volume_id (index_volume_id),
  CONSTRAINT fk_current_volumes_message_volume_id FOREIGN KEY (message_volume_id) REFERENCES volume(id),
  CONSTRAINT fk_current_volumes_secondary_message_volume_id FOREIGN KEY (secondary_message_volume_id) REFERENCES volume(id),
  CONSTRAINT fk_current_volumes_index_volume_id FOREIGN KEY (index_volume_id) REFERENCES volume(id)
) ENGINE = InnoDB;

-- Zimbra creates it without an ENGINE clause, so it is the server default (InnoDB).
CREATE TABLE volume_blobs (
  id          BIGINT AUTO_INCREMENT PRIMARY KEY,
  volume_id   TINYINT NOT NULL,
  mailbox_id  INTEGER NOT NULL,
  item_id     INTEGER NOT NULL,
  revision    INTEGER NOT NULL,
  blob_digest VARCHAR(44),
  processed   BOOLEAN DEFAULT false,
  INDEX i_blob_digest (blob_digest),
  CONSTRAINT uc_blobinfo UNIQUE (volume_id, mailbox_id, item_id, revision)
);

CREATE TABLE mailbox (
  id                   INTEGER UNSIGNED NOT NULL PRIMARY KEY,
  group_id             INTEGER UNSIGNED NOT NULL,
  account_id           VARCHAR(127) NOT NULL,
  index_volume_id      TINYINT UNSIGNED NOT NULL,
  item_id_checkpoint   INTEGER UNSIGNED NOT NULL DEFAULT 0,
  contact_count        INTEGER UNSIGNED DEFAULT 0,
  size_checkpoint      BIGINT UNSIGNED NOT NULL DEFAULT 0,
  change_checkpoint    INTEGER UNSIGNED NOT NULL DEFAULT 0,
  tracking_sync        INTEGER UNSIGNED NOT NULL DEFAULT 0,
  tracking_imap        BOOLEAN NOT NULL DEFAULT 0,
  last_backup_at       INTEGER UNSIGNED,
  comment              VARCHAR(255),
  last_soap_access     INTEGER UNSIGNED NOT NULL DEFAULT 0,
  new_messages         INTEGER UNSIGNED NOT NULL DEFAULT 0,
  idx_deferred_count   INTEGER NOT NULL DEFAULT 0,
  highest_indexed      VARCHAR(21),
  version              VARCHAR(16),
  last_purge_at        INTEGER UNSIGNED NOT NULL DEFAULT 0,
  itemcache_checkpoint INTEGER UNSIGNED NOT NULL DEFAULT 0,
  UNIQUE INDEX i_account_id (account_id),
  INDEX i_index_volume_id (index_volume_id),
  INDEX i_last_backup_at (last_backup_at, id),
  CONSTRAINT fk_mailbox_index_volume_id FOREIGN KEY (index_volume_id) REFERENCES volume(id)
) ENGINE = InnoDB;

CREATE TABLE deleted_account (
  email      VARCHAR(255) NOT NULL PRIMARY KEY,
  account_id VARCHAR(127) NOT NULL,
  mailbox_id INTEGER UNSIGNED NOT NULL,
  deleted_at INTEGER UNSIGNED NOT NULL
) ENGINE = InnoDB;

CREATE TABLE mailbox_metadata (
  mailbox_id INTEGER UNSIGNED NOT NULL,
  section    VARCHAR(64) NOT NULL,
  metadata   MEDIUMTEXT,
  PRIMARY KEY (mailbox_id, section),
  CONSTRAINT fk_metadata_mailbox_id FOREIGN KEY (mailbox_id) REFERENCES mailbox(id) ON DELETE CASCADE
) ENGINE = InnoDB;

CREATE TABLE out_of_office (
  mailbox_id INTEGER UNSIGNED NOT NULL,
  sent_to    VARCHAR(255) NOT NULL,
  sent_on    DATETIME NOT NULL,
  PRIMARY KEY (mailbox_id, sent_to),
  INDEX i_sent_on (sent_on),
  CONSTRAINT fk_out_of_office_mailbox_id FOREIGN KEY (mailbox_id) REFERENCES mailbox(id) ON DELETE CASCADE
) ENGINE = InnoDB;

CREATE TABLE config (
  name        VARCHAR(255) NOT NULL PRIMARY KEY,
  value       TEXT,
  description TEXT,
  modified    TIMESTAMP
) ENGINE = InnoDB;

CREATE TABLE table_maintenance (
  database_name      VARCHAR(64) NOT NULL,
  table_name         VARCHAR(64) NOT NULL,
  maintenance_date   DATETIME NOT NULL,
  last_optimize_date DATETIME,
  num_rows           INTEGER UNSIGNED NOT NULL,
  PRIMARY KEY (table_name, database_name)
) ENGINE = InnoDB;

CREATE TABLE service_status (
  server  VARCHAR(255) NOT NULL,
  service VARCHAR(255) NOT NULL,
  time    DATETIME,
  status  BOOLEAN,
  UNIQUE INDEX i_server_service (server(100), service(100))
) ENGINE = MyISAM;

CREATE TABLE scheduled_task (
  class_name      VARCHAR(255) BINARY NOT NULL,
  name            VARCHAR(255) NOT NULL,
  mailbox_id      INTEGER UNSIGNED NOT NULL,
  exec_time       DATETIME,
  interval_millis INTEGER UNSIGNED,
  metadata        MEDIUMTEXT,
  PRIMARY KEY (name, mailbox_id, class_name),
  CONSTRAINT fk_st_mailbox_id FOREIGN KEY (mailbox_id) REFERENCES mailbox(id) ON DELETE CASCADE,
  INDEX i_mailbox_id (mailbox_id)
) ENGINE = InnoDB;

CREATE TABLE mobile_devices (
  mailbox_id           INTEGER UNSIGNED NOT NULL,
  device_id            VARCHAR(64) NOT NULL,
  device_type          VARCHAR(64) NOT NULL,
  user_agent           VARCHAR(64),
  protocol_version     VARCHAR(64),
  provisionable        BOOLEAN NOT NULL DEFAULT 0,
  status               TINYINT UNSIGNED NOT NULL DEFAULT 0,
  policy_key           INTEGER UNSIGNED,
  recovery_password    VARCHAR(64),
  first_req_received   INTEGER UNSIGNED NOT NULL,
  last_policy_update   INTEGER UNSIGNED,
  remote_wipe_req      INTEGER UNSIGNED,
  remote_wipe_ack      INTEGER UNSIGNED,
  policy_values        VARCHAR(512),
  last_used_date       DATE,
  deleted_by_user      BOOLEAN NOT NULL DEFAULT 0,
  model                VARCHAR(64),
  imei                 VARCHAR(64),
  friendly_name        VARCHAR(512),
  os                   VARCHAR(64),
  os_language          VARCHAR(64),
  phone_number         VARCHAR(64),
  unapproved_appl_list TEXT NULL,
  approved_appl_list   TEXT NULL,
  mobile_operator      VARCHAR(512),
  last_updated_by      ENUM('Admin', 'User') DEFAULT 'Admin',
  PRIMARY KEY (mailbox_id, device_id),
  CONSTRAINT fk_mobile_mailbox_id FOREIGN KEY (mailbox_id) REFERENCES mailbox(id) ON DELETE CASCADE,
  INDEX i_last_used_date (last_used_date)
) ENGINE = InnoDB;

CREATE TABLE pending_acl_push (
  mailbox_id INTEGER UNSIGNED NOT NULL,
  item_id    INTEGER UNSIGNED NOT NULL,
  date       BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (mailbox_id, item_id, date),
  CONSTRAINT fk_pending_acl_push_mailbox_id FOREIGN KEY (mailbox_id) REFERENCES mailbox(id) ON DELETE CASCADE,
  INDEX i_date (date)
) ENGINE = InnoDB;

CREATE TABLE current_sessions (
  id        INTEGER UNSIGNED NOT NULL,
  server_id VARCHAR(127) NOT NULL,
  PRIMARY KEY (id, server_id)
) ENGINE = InnoDB;

CREATE TABLE zmg_devices (
  mailbox_id       INTEGER UNSIGNED NOT NULL,
  app_id           VARCHAR(64) NOT NULL,
  reg_id           VARCHAR(255) NOT NULL,
  push_provider    VARCHAR(8) NOT NULL,
  os_name          VARCHAR(16),
  os_version       VARCHAR(8),
  max_payload_size INTEGER UNSIGNED,
  PRIMARY KEY (mailbox_id, app_id),
  CONSTRAINT uk_zmg_reg_id UNIQUE KEY (reg_id),
  CONSTRAINT fk_zmg_mailbox_id FOREIGN KEY (mailbox_id) REFERENCES mailbox(id) ON DELETE CASCADE,
  INDEX i_mailbox_id (mailbox_id),
  INDEX i_reg_id (reg_id)
) ENGINE = InnoDB;

-- What versions-init.sql records at install (Versions.DB_VERSION, INDEX_VERSION, redo Version).
INSERT INTO config (name, value, description) VALUES
  ('db.version', '114', 'db schema version'),
  ('index.version', '2', 'index version'),
  ('redolog.version', '1.42', 'redolog version');
