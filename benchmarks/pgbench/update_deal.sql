-- Change the amount of one random deal (one statement, one transaction).
\set id random(1, :max_deal)
UPDATE crm.deals SET amount = amount + 1, updated_at = now() WHERE id = :id;
