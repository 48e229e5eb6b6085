//! Running independent calls together: [`bounded`] polls a list of futures at most `limit` at
//! once, on the current task, and returns their outputs in list order. (What a stream's
//! `buffered` does, without pulling in the allocation feature of `futures-util`, which would
//! rebuild the whole AWS SDK stack with a different feature set.)

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// Runs `futures` with at most `limit` (at least one) in progress at once; the outputs are in
/// the order of `futures`.
pub(crate) async fn bounded<F: Future>(futures: Vec<F>, limit: usize) -> Vec<F::Output> {
    let limit = limit.max(1);
    let mut waiting: VecDeque<(usize, Pin<Box<F>>)> = futures.into_iter().map(Box::pin).enumerate().collect();
    let mut outputs: Vec<Option<F::Output>> = waiting.iter().map(|_| None).collect();
    let mut running: Vec<(usize, Pin<Box<F>>)> = Vec::new();
    std::future::poll_fn(|cx| loop {
        while running.len() < limit {
            match waiting.pop_front() {
                Some(f) => running.push(f),
                None => break,
            }
        }
        let mut finished = false;
        let mut i = 0;
        while i < running.len() {
            if let Poll::Ready(out) = running[i].1.as_mut().poll(cx) {
                outputs[running[i].0] = Some(out);
                running.swap_remove(i);
                finished = true;
            } else {
                i += 1;
            }
        }
        if running.is_empty() && waiting.is_empty() {
            return Poll::Ready(());
        }
        if !finished {
            return Poll::Pending;
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn outputs_keep_their_order_and_the_limit_holds() {
        let now = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let work = |i: u64| {
            let (now, most) = (&now, &most);
            async move {
                let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(n, Ordering::SeqCst);
                // Later items finish first.
                tokio::time::sleep(Duration::from_millis(12 - 2 * i)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                i
            }
        };
        let out = bounded((0..6).map(work).collect(), 3).await;
        assert_eq!(out, [0, 1, 2, 3, 4, 5]);
        assert_eq!(most.load(Ordering::SeqCst), 3);
        let out = bounded((0..3).map(work).collect(), 0).await;
        assert_eq!(out, [0, 1, 2]);
        assert_eq!(
            bounded(Vec::<std::future::Ready<u8>>::new(), 4).await,
            Vec::<u8>::new()
        );
    }
}
