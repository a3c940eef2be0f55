//! Reading only the OUs a job names: an OU path walked down from the root by name, an OU by id
//! (placed by its `Path`, or by ListParents where the answer has none), and the subtree below
//! either; each parent's children are listed at most once however many reads pass through it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_organizations::Client;
use tokio::sync::{OnceCell, Semaphore};
use tokio::task::JoinSet;

use super::error::AwsError;
use super::organizations::{Counter, DiscoverError, SERVICE, convert_unit, list_units};
use crate::model::plan::OuRef;
use crate::model::{OrgUnit, Organization, OuId, ParentId, UnitRead};

/// Reads named OUs for one discovery; cheap to clone (one shared cache).
#[derive(Clone)]
pub(super) struct UnitReader {
    client: Client,
    counter: Counter,
    semaphore: Arc<Semaphore>,
    root: ParentId,
    organization: Organization,
    /// Each parent's children, listed once.
    listings: Arc<Mutex<Listings>>,
}

/// The children of each parent listed (or being listed) so far.
type Listings = BTreeMap<ParentId, Arc<OnceCell<Vec<OrgUnit>>>>;

impl UnitReader {
    pub(super) fn new(
        client: Client,
        counter: Counter,
        semaphore: Arc<Semaphore>,
        root: ParentId,
        organization: Organization,
    ) -> Self {
        Self {
            client,
            counter,
            semaphore,
            root,
            organization,
            listings: Arc::default(),
        }
    }

    /// Every OU learnt while reading `read`: the OUs listed on the way (named), the OU itself
    /// and, for an OU by id without a `Path`, the ids above it (unnamed). An OU that does not
    /// exist is no error here: the planner reports it against the plan.
    pub(super) async fn read(&self, read: UnitRead) -> Result<Vec<OrgUnit>, DiscoverError> {
        let (mut learnt, found) = match &read.unit {
            OuRef::Path(path) => self.walk_down(path).await?,
            OuRef::Id(id) => self.by_id(id).await?,
        };
        if read.subtree
            && let Some(found) = found
        {
            learnt.extend(self.subtree(found).await?);
        }
        Ok(learnt)
    }

    /// Lists the children of each OU on the path from the root, by name, as far as it leads.
    async fn walk_down(&self, path: &str) -> Result<(Vec<OrgUnit>, Option<OuId>), DiscoverError> {
        let mut learnt = Vec::new();
        let mut parent = self.root.clone();
        let mut found = None;
        for name in path.split('/').filter(|segment| !segment.is_empty()) {
            let children = self.children(&parent).await?;
            let next = children
                .iter()
                .find(|unit| unit.name.as_deref() == Some(name))
                .map(|unit| unit.id.clone());
            learnt.extend(children);
            let Some(next) = next else {
                return Ok((learnt, None));
            };
            parent = ParentId::Ou(next.clone());
            found = Some(next);
        }
        Ok((learnt, found))
    }

    /// DescribeOrganizationalUnit, and the OUs above it from its `Path` (or ListParents).
    async fn by_id(&self, id: &OuId) -> Result<(Vec<OrgUnit>, Option<OuId>), DiscoverError> {
        let operation = "DescribeOrganizationalUnit";
        let answer = {
            let _permit = self.semaphore.acquire().await;
            self.counter.add(operation);
            self.client
                .describe_organizational_unit()
                .organizational_unit_id(id.as_str())
                .send()
                .await
        };
        let output = match answer {
            Ok(output) => output,
            Err(error) => {
                let error = AwsError::from_sdk(SERVICE, operation, error);
                if error.is_code("OrganizationalUnitNotFoundException") {
                    return Ok((Vec::new(), None));
                }
                return Err(error.into());
            }
        };
        let unit = output
            .organizational_unit()
            .ok_or(DiscoverError::Missing(operation, "an OrganizationalUnit"))?;
        let above = match unit.path().map(ou_ids_in_path) {
            Some(ids) if ids.last() == Some(id) => ids[..ids.len() - 1].to_vec(),
            _ => self.ids_above(id).await?,
        };
        let mut learnt = Vec::new();
        let mut parent = self.root.clone();
        for ancestor in above {
            learnt.push(OrgUnit {
                arn: self.organization.ou_arn(&ancestor),
                id: ancestor.clone(),
                name: None,
                parent: parent.clone(),
            });
            parent = ParentId::Ou(ancestor);
        }
        learnt.push(convert_unit(unit, &parent)?);
        Ok((learnt, Some(id.clone())))
    }

    /// The OU ids from the root down to `id`'s parent, one ListParents per level.
    async fn ids_above(&self, id: &OuId) -> Result<Vec<OuId>, DiscoverError> {
        let operation = "ListParents";
        let mut above = Vec::new();
        let mut child = id.clone();
        // Organizations nests OUs at most five deep; the bound only guards against a cycle.
        for _ in 0..8 {
            let output = {
                let _permit = self.semaphore.acquire().await;
                self.counter.add(operation);
                self.client
                    .list_parents()
                    .child_id(child.as_str())
                    .send()
                    .await
                    .map_err(|error| AwsError::from_sdk(SERVICE, operation, error))?
            };
            let parent = output
                .parents()
                .first()
                .and_then(|parent| parent.id())
                .ok_or(DiscoverError::Missing(operation, "a parent"))?;
            match ParentId::parse(parent)? {
                ParentId::Root(_) => break,
                ParentId::Ou(parent) => {
                    above.insert(0, parent.clone());
                    child = parent;
                }
            }
        }
        Ok(above)
    }

    /// Every OU below `top`, level by level, the children of a level's OUs listed at once.
    async fn subtree(&self, top: OuId) -> Result<Vec<OrgUnit>, DiscoverError> {
        let mut learnt = Vec::new();
        let mut level = vec![top];
        while !level.is_empty() {
            let mut tasks = JoinSet::new();
            for id in level.drain(..) {
                let reader = self.clone();
                tasks.spawn(async move { reader.children(&ParentId::Ou(id)).await });
            }
            while let Some(joined) = tasks.join_next().await {
                let children = joined.map_err(|error| {
                    DiscoverError::Stopped(format!("an OU listing stopped: {error}"))
                })??;
                level.extend(children.iter().map(|unit| unit.id.clone()));
                learnt.extend(children);
            }
        }
        Ok(learnt)
    }

    /// The OUs directly under `parent`, listed once per discovery (every page).
    async fn children(&self, parent: &ParentId) -> Result<Vec<OrgUnit>, DiscoverError> {
        let cell = {
            let mut listings = self
                .listings
                .lock()
                .map_err(|_| DiscoverError::Stopped("the OU listing cache was poisoned".into()))?;
            listings.entry(parent.clone()).or_default().clone()
        };
        let units = cell
            .get_or_try_init(|| list_units(&self.client, &self.counter, &self.semaphore, parent))
            .await?;
        Ok(units.clone())
    }
}

/// The OU ids of a `Path` (`o-x/r-y/ou-a/ou-b/` for an OU, `.../ou-b/111111111111/` for an
/// account), from the top down; segments that are not OU ids are left out.
pub(super) fn ou_ids_in_path(path: &str) -> Vec<OuId> {
    path.split('/')
        .filter(|segment| segment.starts_with("ou-"))
        .filter_map(|segment| OuId::parse(segment).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_gives_its_ou_ids_from_the_top() {
        let ids: Vec<String> =
            ou_ids_in_path("o-abc123/r-ab12/ou-ab12-aaaaaaaa/ou-ab12-bbbbbbbb/111111111111/")
                .iter()
                .map(|id| id.to_string())
                .collect();
        assert_eq!(ids, ["ou-ab12-aaaaaaaa", "ou-ab12-bbbbbbbb"]);
        assert!(ou_ids_in_path("o-abc123/r-ab12/111111111111/").is_empty());
    }
}
