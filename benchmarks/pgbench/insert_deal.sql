-- One new open deal of a random client and owner (one statement, one transaction).
\set client random(1, :max_client)
\set owner random(1, :max_user)
INSERT INTO crm.deals (client_id, owner_id, stage, status, amount, created_at, updated_at)
VALUES (:client, :owner, 'lead', 'open', 1000.00, now(), now());
