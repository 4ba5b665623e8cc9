//! The anchoring pipeline: many TIs in flight at once over one transport,
//! urgent records anchored alone, bulk records gathered into Merkle batches,
//! a bounded queue that says "busy" instead of growing, and one durable
//! write per round of submissions (group commit).
//!
//! Like the [`TransactionValidator`] it multiplexes, the pipeline is
//! sans-I/O: the host pushes TCs, takes actions out with
//! [`Pipeline::poll_transmit`], performs them and feeds the results back, and
//! takes every finished submission's verdict with [`Pipeline::poll_finished`].
//! [`drain_durably`] is the blocking driver over an [`Outbox`](crate::outbox::Outbox), a
//! [`Transport`](crate::Transport) and a [`Clock`](crate::Clock).
//! The drivers ([`drain_durably`], [`step_durably`], a [`PipelineRun`])
//! store each verdict first; its ACKs then wait in the pipeline until the
//! host takes them ([`Pipeline::poll_ack`], [`Pipeline::take_acks`]), so an
//! ACK stored before a later store failed is still handed on.
//!
//! - **Priorities.** [`Priority::Urgent`] records go out at once, one
//!   `anchorRecord` each. [`Priority::Bulk`] records wait in the open batch,
//!   which is flushed into one `anchorBatch` at
//!   [`PipelineConfig::batch_max_records`] records or
//!   [`PipelineConfig::batch_max_wait_ms`] after its first record, whichever
//!   comes first (or when the host calls [`Pipeline::flush`]). Every valid
//!   ACK of a batched record carries its inclusion proof. A TC its author
//!   signed is anchored alone (`anchorSignedRecord`) whatever its priority,
//!   so its signature reaches the chain.
//! - **Backpressure.** At most [`PipelineConfig::max_pending`] TIs are held
//!   (pushed, not yet finished): beyond that [`Pipeline::push`] refuses with
//!   [`PipelineError::Busy`] and keeps nothing, so the producer slows down or
//!   keeps the TI itself; memory stays bounded.
//! - **Group commit.** Every submission's validator asks for its outbox
//!   entry to be stored before it is sent; the pipeline gathers all such
//!   requests of a round into one [`PipelineTransmit::Persist`], so a host
//!   with a database makes one durable write (one transaction) per round,
//!   not one per TI.
//! - **One head read.** Validators waiting for confirmations all read the
//!   chain head; the pipeline asks once ([`PipelineTransmit::ReadHead`]) and
//!   hands the answer to each.
//! - **Exactly one ACK per TI.** Each TI goes into exactly one submission
//!   (a TI id already held is refused with [`PipelineError::Duplicate`]);
//!   each submission is a [`TransactionValidator`] with its own guarantees
//!   (mined state only, outages are not verdicts, nothing anchored twice).
//!   After a crash, [`Pipeline::resume`] takes the outbox's entries back.
//!
//! Nonces: many transactions from one account are in flight at once; the
//! transport gives them consecutive nonces ([`rpc::Nonces`](crate::rpc::Nonces)
//! in the JSON-RPC transports).

mod drive;
mod run;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashSet, VecDeque};

use alloy_primitives::{Address, B256, keccak256};
use serde::{Deserialize, Serialize};

use crate::batch::BatchBuilder;
use crate::driver::StopCause;
use crate::generator::ChainTransaction;
use crate::outbox::OutboxError;
use crate::time::UnixMillis;
use crate::transport::TransportError;
use crate::validator::{
    Ack, TransactionValidator, Transmit, ValidatorConfig, ValidatorError, unbatchable,
};

pub use drive::{Drained, drain_durably, perform_action, perform_due, step_durably};
pub use run::{PipelineRun, PipelineStep};

/// How the pipeline batches and how much it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct PipelineConfig {
    /// TIs held at most (pushed and not yet finished); beyond, pushes are
    /// refused as busy. Default 100,000 (about 200 MB with 1 KiB records).
    pub max_pending: usize,
    /// An open batch is flushed at this many records. Default 4,096.
    pub batch_max_records: usize,
    /// An open batch is flushed this long after its first record, in
    /// milliseconds. Default 1,000.
    pub batch_max_wait_ms: u64,
    /// The validator of each submission.
    pub validator: ValidatorConfig,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            max_pending: 100_000,
            batch_max_records: 4_096,
            batch_max_wait_ms: 1_000,
            validator: ValidatorConfig::default(),
        }
    }
}

/// How a record is anchored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Alone, at once: one `anchorRecord` transaction (the registry checks
    /// the author's role and the template for this record).
    Urgent,
    /// In the open Merkle batch: one `anchorBatch` transaction for many
    /// records, each with an inclusion proof. A TC its author signed is
    /// anchored alone all the same (a batch root would not carry the
    /// signature).
    Bulk,
}

/// One submission in flight: a single record or a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FlightId(pub u64);

/// The next thing the host must do for the pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PipelineTransmit {
    /// Store every entry of this round ([`Pipeline::round_entries`]) in the
    /// write-ahead outbox in one durable write ([`Outbox::save_all`](crate::outbox::Outbox::save_all)), then
    /// report with [`Pipeline::handle_persisted`] and this `round`. The
    /// entries are made only when asked for, so a host without an outbox
    /// ([`NoOutbox`](crate::outbox::NoOutbox)) does not pay for serialising
    /// every batch's sealed records.
    Persist {
        /// Which round of entries this is.
        round: u64,
    },
    /// Read the chain head's block number; report with
    /// [`Pipeline::handle_head`].
    ReadHead,
    /// One action of one submission: perform it and hand the result to that
    /// submission's validator ([`Pipeline::flight_mut`]), as for a single
    /// validator.
    Flight {
        /// The submission.
        flight: FlightId,
        /// Its action (never [`Transmit::Persist`] or
        /// [`Transmit::ReadHead`]: the pipeline gathers those).
        transmit: Transmit,
    },
}

/// A submission's verdict: store its ACKs and remove its outbox entry in one
/// step ([`Outbox::finish`](crate::outbox::Outbox::finish); a round's verdicts together: [`Outbox::finish_all`](crate::outbox::Outbox::finish_all)),
/// then hand the ACKs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finished {
    /// The submission's outbox key (`None` if nothing was stored).
    pub outbox_key: Option<B256>,
    /// One ACK per TI of the submission.
    pub acks: Vec<Ack>,
}

/// Why the pipeline refused a TC.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The pipeline holds its limit of TIs; nothing was kept.
    #[error(
        "the pipeline is busy: it holds {pending} TIs, its limit; nothing was kept: push this TI again once ACKs have come out"
    )]
    Busy {
        /// TIs held.
        pending: usize,
        /// The limit ([`PipelineConfig::max_pending`]).
        limit: usize,
    },
    /// A TC with this TI id is already in the pipeline.
    #[error(
        "TI {0} is already in the pipeline; it gets its one ACK from the submission that holds it"
    )]
    Duplicate(B256),
    /// The TC, or the validator's submission, is for another chain or
    /// registry than the pipeline's; nothing was kept.
    #[error(
        "TI {ti_id} is for registry {registry} on chain {chain_id}, not this pipeline's; push it into the pipeline of its registry and chain, or generate it again for this one"
    )]
    WrongRegistry {
        /// The (first) TI refused.
        ti_id: B256,
        /// The registry it is for.
        registry: Address,
        /// The chain it is for.
        chain_id: u64,
    },
    /// The blocking driver reached the host's deadline or cancel with TIs
    /// still held ([`Drained::finished`]). Not a verdict.
    #[error(
        "the pipeline stopped ({cause}) with {pending} TIs pending; nothing is lost: their outbox entries are stored, drain the pipeline again or resume them later"
    )]
    Stopped {
        /// Deadline or cancel.
        cause: StopCause,
        /// TIs still held.
        pending: usize,
    },
}

/// A validator the pipeline refused ([`Pipeline::admit`]), given back with
/// the reason.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
#[non_exhaustive]
pub struct Unadmitted {
    /// Why: [`PipelineError::Busy`], [`PipelineError::Duplicate`] or
    /// [`PipelineError::WrongRegistry`].
    pub error: PipelineError,
    /// The validator, as it was given.
    pub validator: Box<TransactionValidator>,
}

/// The anchoring pipeline (see the [module docs](self)).
#[derive(Debug)]
pub struct Pipeline {
    config: PipelineConfig,
    chain_id: u64,
    registry: Address,
    open: Vec<ChainTransaction>,
    opened_at: UnixMillis,
    flights: BTreeMap<FlightId, TransactionValidator>,
    next_flight: u64,
    next_round: u64,
    ready: VecDeque<PipelineTransmit>,
    persisting: BTreeMap<u64, Vec<FlightId>>,
    reading_head: Vec<FlightId>,
    held: HashSet<B256>,
    /// TI ids held again by [`restore_finished`](Self::restore_finished):
    /// released when their verdict is taken again.
    restored: HashSet<B256>,
    finished: VecDeque<Finished>,
    /// The ACKs of verdicts the host stored, waiting to be taken.
    stored: VecDeque<Ack>,
}

impl Pipeline {
    /// An empty pipeline anchoring into `registry` on chain `chain_id`.
    #[must_use]
    pub fn new(chain_id: u64, registry: Address, config: PipelineConfig) -> Self {
        Self {
            config,
            chain_id,
            registry,
            open: Vec::new(),
            opened_at: UnixMillis::EPOCH,
            flights: BTreeMap::new(),
            next_flight: 0,
            next_round: 0,
            ready: VecDeque::new(),
            persisting: BTreeMap::new(),
            reading_head: Vec::new(),
            held: HashSet::new(),
            restored: HashSet::new(),
            finished: VecDeque::new(),
            stored: VecDeque::new(),
        }
    }

    /// Takes back the submissions of a host that stopped or crashed, from
    /// its outbox entries; each is resumed as
    /// [`TransactionValidator::from_json`] says.
    ///
    /// # Errors
    /// [`ValidatorError::Snapshot`] for an entry that cannot be resumed;
    /// the entries before it are taken.
    pub fn resume<'a>(
        &mut self,
        entries: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), ValidatorError> {
        for entry in entries {
            let validator = TransactionValidator::from_json(entry)?;
            self.held.extend(validator.ti_ids());
            self.launch(validator);
        }
        Ok(())
    }

    /// The chain the pipeline anchors on.
    #[must_use]
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The registry the pipeline anchors into.
    #[must_use]
    pub fn registry(&self) -> Address {
        self.registry
    }

    /// How many TIs the pipeline holds (pushed or resumed, not yet
    /// finished).
    #[must_use]
    pub fn pending(&self) -> usize {
        self.held.len()
    }

    /// Whether nothing is held and no verdict is waiting to be taken
    /// ([`poll_finished`](Self::poll_finished)). Stored ACKs waiting for
    /// [`poll_ack`](Self::poll_ack) do not count: their verdicts are stored.
    #[must_use]
    pub fn is_idle(&self) -> bool {
        self.held.is_empty() && self.finished.is_empty()
    }

    /// Takes a TC: urgent ones are sent alone at once, bulk ones join the
    /// open batch (flushed when full). Its ACK comes out of
    /// [`poll_finished`](Self::poll_finished).
    ///
    /// A TI whose ACK is already out is not held any more and is not
    /// refused: push each TI once (the host's database, where its ACK was
    /// stored, is where to check; the pipeline keeps only the TIs in flight,
    /// so that its memory stays bounded).
    ///
    /// A TC its author signed is anchored alone whatever its priority
    /// (`anchorSignedRecord`): a batch root would not carry the signature.
    /// Its signature is checked here first, so a smart account's (ERC-1271,
    /// which only the chain can check) gives an invalid ACK: admit such a
    /// TC's validator instead ([`admit`](Self::admit),
    /// [`SigningRequest::validator`](crate::authorship::SigningRequest::validator)).
    ///
    /// # Errors
    /// [`PipelineError::Busy`] at the limit, [`PipelineError::Duplicate`]
    /// for a TI id already held, [`PipelineError::WrongRegistry`] for a TC
    /// of another chain or registry; the TC is not kept.
    pub fn push(
        &mut self,
        tc: ChainTransaction,
        priority: Priority,
        now: UnixMillis,
    ) -> Result<(), PipelineError> {
        self.check_destination(tc.ti_id, tc.chain_id, tc.to)?;
        self.make_room(&[tc.ti_id])?;
        match priority {
            Priority::Bulk if unbatchable(&tc, self.registry, self.chain_id).is_none() => {
                if self.open.is_empty() {
                    self.opened_at = now;
                }
                self.open.push(tc);
                if self.open.len() >= self.config.batch_max_records {
                    self.flush();
                }
            }
            Priority::Urgent | Priority::Bulk => {
                self.launch(TransactionValidator::new(&tc, self.config.validator));
            }
        }
        Ok(())
    }

    /// Refuses a submission for another chain or registry than the
    /// pipeline's (its first TI id is `ti_id`).
    pub(crate) fn check_destination(
        &self,
        ti_id: B256,
        chain_id: u64,
        registry: Address,
    ) -> Result<(), PipelineError> {
        if chain_id == self.chain_id && registry == self.registry {
            return Ok(());
        }
        Err(PipelineError::WrongRegistry {
            ti_id,
            registry,
            chain_id,
        })
    }

    /// Takes a validator the host built: a finished one for a TI its
    /// template refused ([`TransactionValidator::rejected`]), whose invalid
    /// ACK then comes out of [`poll_finished`](Self::poll_finished) like any
    /// other, or a submission to send as it is (anchored alone).
    ///
    /// Use it for what [`push`](Self::push) cannot build: a TI its author
    /// signed ([`Handshaker::validator_signed_by`](crate::Handshaker::validator_signed_by),
    /// or a signature made later, a smart account's included:
    /// [`SigningRequest::validator`](crate::authorship::SigningRequest::validator)).
    ///
    /// # Errors
    /// [`Unadmitted`]: as [`push`](Self::push), for any of its TI ids or
    /// its submission's chain and registry;
    /// nothing is kept and the validator comes back (admit it again later:
    /// a signature is not asked for twice).
    pub fn admit(&mut self, validator: TransactionValidator) -> Result<(), Unadmitted> {
        let ids: Vec<B256> = validator.ti_ids().collect();
        let destination = match (validator.submission(), ids.first()) {
            (Some(s), Some(&ti_id)) => self.check_destination(ti_id, s.chain_id, s.to),
            _ => Ok(()),
        };
        match destination.and_then(|()| self.make_room(&ids)) {
            Ok(()) => {
                self.launch(validator);
                Ok(())
            }
            Err(error) => Err(Unadmitted {
                error,
                validator: Box::new(validator),
            }),
        }
    }

    /// Holds `ti_ids`, unless that would pass the limit or one is held
    /// (they stay held until their submission finishes).
    fn make_room(&mut self, ti_ids: &[B256]) -> Result<(), PipelineError> {
        if self.held.len() + ti_ids.len() > self.config.max_pending {
            return Err(PipelineError::Busy {
                pending: self.held.len(),
                limit: self.config.max_pending,
            });
        }
        if let Some(&held) = ti_ids.iter().find(|id| self.held.contains(*id)) {
            return Err(PipelineError::Duplicate(held));
        }
        self.held.extend(ti_ids);
        Ok(())
    }

    /// Sends the open batch now, whatever its size (a batch of one record
    /// goes out as a single anchor).
    pub fn flush(&mut self) {
        let tcs = std::mem::take(&mut self.open);
        match tcs.as_slice() {
            [] => {}
            [tc] => self.launch(TransactionValidator::new(tc, self.config.validator)),
            _ => match self.batch_validator(&tcs) {
                Some(validator) => self.launch(validator),
                // Not reachable with pushed TCs (their record hashes are
                // SHA-256 digests, never zero; `push` keeps signed TCs and
                // other registries' out); anchor them one by one rather
                // than lose them.
                None => {
                    for tc in &tcs {
                        self.launch(TransactionValidator::new(tc, self.config.validator));
                    }
                }
            },
        }
    }

    /// The validator of one batch of `tcs`; its id is the keccak-256 of
    /// their TI ids, so the same TCs make the same batch.
    fn batch_validator(&self, tcs: &[ChainTransaction]) -> Option<TransactionValidator> {
        let mut builder = BatchBuilder::with_capacity(tcs.len());
        let mut ids = Vec::with_capacity(tcs.len() * 32);
        for tc in tcs {
            builder.push(tc.record_hash).ok()?;
            ids.extend_from_slice(tc.ti_id.as_slice());
        }
        let batch = builder.build(keccak256(&ids)).ok()?;
        TransactionValidator::for_batch(
            &batch,
            tcs,
            self.registry,
            self.chain_id,
            self.config.validator,
        )
        .ok()
    }

    /// Puts a submission in flight; its TI ids are already held.
    fn launch(&mut self, validator: TransactionValidator) {
        self.flights.insert(FlightId(self.next_flight), validator);
        self.next_flight += 1;
    }

    /// The next action, if one is due at `now`. Flushes the open batch when
    /// its wait is over.
    pub fn poll_transmit(&mut self, now: UnixMillis) -> Option<PipelineTransmit> {
        if self.ready.is_empty() {
            self.gather(now);
        }
        self.ready.pop_front()
    }

    /// Asks every submission for its next action: the outbox entries to
    /// store become one round, head reads one read.
    fn gather(&mut self, now: UnixMillis) {
        if self.open_batch_due(now) {
            self.flush();
        }
        let mut round = Vec::new();
        let head_asked = !self.reading_head.is_empty();
        for (&flight, validator) in &mut self.flights {
            match validator.poll_transmit(now) {
                None => {}
                Some(Transmit::Persist) => round.push(flight),
                Some(Transmit::ReadHead) => self.reading_head.push(flight),
                Some(transmit) => self
                    .ready
                    .push_back(PipelineTransmit::Flight { flight, transmit }),
            }
        }
        if !head_asked && !self.reading_head.is_empty() {
            self.ready.push_back(PipelineTransmit::ReadHead);
        }
        if !round.is_empty() {
            let number = self.next_round;
            self.next_round += 1;
            self.persisting.insert(number, round);
            self.ready
                .push_front(PipelineTransmit::Persist { round: number });
        }
    }

    fn open_batch_due(&self, now: UnixMillis) -> bool {
        !self.open.is_empty()
            && now
                >= self
                    .opened_at
                    .saturating_add_ms(self.config.batch_max_wait_ms)
    }

    /// The outbox entries (key, [`TransactionValidator::to_json`]) of a
    /// [`PipelineTransmit::Persist`] round, to store before reporting it
    /// with [`handle_persisted`](Self::handle_persisted); empty for a round
    /// not asked for or already reported.
    #[must_use]
    pub fn round_entries(&self, round: u64) -> Vec<(B256, String)> {
        self.persisting
            .get(&round)
            .into_iter()
            .flatten()
            .filter_map(|flight| self.flights.get(flight))
            .filter_map(TransactionValidator::outbox_entry)
            .collect()
    }

    /// The result of storing a [`PipelineTransmit::Persist`] round.
    pub fn handle_persisted(
        &mut self,
        round: u64,
        now: UnixMillis,
        result: Result<(), OutboxError>,
    ) {
        for flight in self.persisting.remove(&round).unwrap_or_default() {
            if let Some(validator) = self.flights.get_mut(&flight) {
                let _ = validator.handle_persisted(now, result.clone());
            }
        }
    }

    /// The result of a [`PipelineTransmit::ReadHead`].
    pub fn handle_head(&mut self, now: UnixMillis, result: Result<u64, TransportError>) {
        for flight in std::mem::take(&mut self.reading_head) {
            if let Some(validator) = self.flights.get_mut(&flight) {
                let _ = validator.handle_head(now, result.clone());
            }
        }
    }

    /// Takes over a pipeline whose handed-out actions will never be
    /// answered: the host's own loop handed them out
    /// ([`poll_transmit`](Self::poll_transmit)), then gave the pipeline to
    /// a blocking driver ([`drain_durably`] calls this first). Every
    /// submission's unanswered action is asked again
    /// ([`TransactionValidator::ask_again`]: one that may have been sent is
    /// settled from the registry first), a round not reported stored is
    /// stored again before anything is sent, and the head is read again.
    /// Only for answers that can no longer arrive.
    pub fn ask_again(&mut self) {
        self.ready.clear();
        self.persisting.clear();
        self.reading_head.clear();
        for validator in self.flights.values_mut() {
            validator.ask_again();
        }
    }

    /// The validator of a submission in flight, to hand it the result of its
    /// [`PipelineTransmit::Flight`] action.
    pub fn flight_mut(&mut self, flight: FlightId) -> Option<&mut TransactionValidator> {
        self.flights.get_mut(&flight)
    }

    /// When the pipeline next needs attention, if it has anything to do.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<UnixMillis> {
        let batch = (!self.open.is_empty()).then(|| {
            self.opened_at
                .saturating_add_ms(self.config.batch_max_wait_ms)
        });
        self.flights
            .values()
            .filter_map(TransactionValidator::poll_timeout)
            .chain(batch)
            .min()
    }

    /// Passes `now` to every submission (and flushes a due batch).
    pub fn handle_timeout(&mut self, now: UnixMillis) {
        if self.open_batch_due(now) {
            self.flush();
        }
        for validator in self.flights.values_mut() {
            validator.handle_timeout(now);
        }
    }

    /// The next submission that reached its verdict, with its ACKs.
    pub fn poll_finished(&mut self) -> Option<Finished> {
        if self.finished.is_empty() {
            self.sweep();
        }
        let verdict = self.finished.pop_front()?;
        // A verdict given back (`restore_finished`) held its TIs again; a
        // TI pushed anew meanwhile stays held by its new submission.
        for ack in &verdict.acks {
            if self.restored.remove(&ack.ti_id) {
                self.held.remove(&ack.ti_id);
            }
        }
        Some(verdict)
    }

    /// Gives back verdicts taken from [`poll_finished`](Self::poll_finished)
    /// that the host could not store: they are offered again first, in
    /// their order, and their TIs count as held again (so the pipeline is
    /// not idle and the same TI is not pushed twice meanwhile).
    pub fn restore_finished(&mut self, verdicts: impl IntoIterator<Item = Finished>) {
        let verdicts: Vec<Finished> = verdicts.into_iter().collect();
        for verdict in verdicts.into_iter().rev() {
            for ack in &verdict.acks {
                if self.held.insert(ack.ti_id) {
                    self.restored.insert(ack.ti_id);
                }
            }
            self.finished.push_front(verdict);
        }
    }

    /// Verdicts the host stored ([`Outbox::finish_all`]: their ACKs kept,
    /// their entries removed), taken from [`poll_finished`](Self::poll_finished):
    /// their ACKs wait for [`poll_ack`](Self::poll_ack), in order. The
    /// drivers and [`PipelineRun::handle_stored`] hand theirs in here.
    ///
    /// [`Outbox::finish_all`]: crate::outbox::Outbox::finish_all
    pub fn handle_stored_verdicts(&mut self, verdicts: impl IntoIterator<Item = Finished>) {
        self.stored
            .extend(verdicts.into_iter().flat_map(|verdict| verdict.acks));
    }

    /// The next ACK whose verdict was stored
    /// ([`handle_stored_verdicts`](Self::handle_stored_verdicts)), in the
    /// order the verdicts came; `None` when none waits.
    pub fn poll_ack(&mut self) -> Option<Ack> {
        self.stored.pop_front()
    }

    /// Every ACK waiting for [`poll_ack`](Self::poll_ack), in order. A host
    /// that drives the pipeline with [`drain_durably`], [`step_durably`] or
    /// a [`PipelineRun`] takes them, or they accumulate here (a host that
    /// reads its ACKs from its outbox instead still takes them, to drop
    /// them).
    pub fn take_acks(&mut self) -> Vec<Ack> {
        self.stored.drain(..).collect()
    }

    /// Moves every finished submission's ACKs out.
    fn sweep(&mut self) {
        let done: Vec<FlightId> = self
            .flights
            .iter()
            .filter(|(_, v)| v.is_finished())
            .map(|(&id, _)| id)
            .collect();
        for id in done {
            let Some(mut validator) = self.flights.remove(&id) else {
                continue;
            };
            for ti_id in validator.ti_ids() {
                self.held.remove(&ti_id);
            }
            let acks: Vec<Ack> = std::iter::from_fn(|| validator.poll_ack()).collect();
            self.finished.push_back(Finished {
                outbox_key: validator.outbox_key(),
                acks,
            });
        }
    }

    /// The outbox entries of every submission in flight, as they stand (for
    /// a host that stops: store them, and [`resume`](Self::resume) later).
    /// The open batch is flushed first, so no TC is left out.
    pub fn entries(&mut self) -> Vec<(B256, String)> {
        self.flush();
        self.flights
            .values()
            .filter_map(TransactionValidator::outbox_entry)
            .collect()
    }
}
