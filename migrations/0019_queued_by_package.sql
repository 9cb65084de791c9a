-- The queued deployments of one package, for the admission's supersede step
-- (despacito_enqueue(), migration 0017) and the queue cap. Without it that
-- step read every deployment the package ever had through
-- deployments_package_arrival (3,770 index entries per admission after 6,000
-- admissions in the bench, growing with each), under the package's lock, so
-- admissions got slower the longer despacito ran. This index holds only the
-- queued rows; the entries of rows that left the queue are skipped once an
-- index scan has seen them dead, until vacuum removes them.
create index deployments_package_queued on deployments (package) where status = 'queued';
